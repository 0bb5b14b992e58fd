#include "shm-buffers.h"

#include "client-util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct shm_buffer {
    struct wl_buffer* wl_buffer;
    struct shm_buffers* list;
    struct shm_buffer* next;
};

static void buffer_release(void* data, struct wl_buffer* wl_buffer) {
    struct shm_buffer* released = data;
    for (struct shm_buffer** link = &released->list->head; *link; link = &(*link)->next) {
        if (*link == released) {
            *link = released->next;
            break;
        }
    }
    wl_buffer_destroy(wl_buffer);
    free(released);
}

static const struct wl_buffer_listener buffer_listener = {
    .release = buffer_release,
};

struct wl_buffer*
shm_buffer_create(struct shm_buffers* buffers, struct wl_shm* shm, int width, int height,
                  void (*fill)(uint32_t* pixels, int width, int height, const void* data),
                  const void* data) {
    int stride = width * 4;
    size_t size = (size_t)stride * (size_t)height;

    int fd = memfd_create(program_name, MFD_CLOEXEC);
    if (fd < 0)
        fail("memfd_create: %s", strerror(errno));
    if (ftruncate(fd, (off_t)size) < 0)
        fail("ftruncate: %s", strerror(errno));
    uint32_t* pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (pixels == MAP_FAILED)
        fail("mmap: %s", strerror(errno));
    fill(pixels, width, height, data);
    munmap(pixels, size);

    struct wl_shm_pool* pool = wl_shm_create_pool(shm, fd, (int32_t)size);
    struct wl_buffer* wl_buffer =
        wl_shm_pool_create_buffer(pool, 0, width, height, stride, WL_SHM_FORMAT_XRGB8888);
    wl_shm_pool_destroy(pool);
    close(fd);

    struct shm_buffer* buffer = calloc(1, sizeof(*buffer));
    if (!buffer)
        fail("out of memory");
    buffer->wl_buffer = wl_buffer;
    buffer->list = buffers;
    buffer->next = buffers->head;
    buffers->head = buffer;
    wl_buffer_add_listener(wl_buffer, &buffer_listener, buffer);
    return wl_buffer;
}

void shm_buffers_destroy(struct shm_buffers* buffers) {
    while (buffers->head) {
        struct shm_buffer* buffer = buffers->head;
        buffers->head = buffer->next;
        wl_buffer_destroy(buffer->wl_buffer);
        free(buffer);
    }
}
