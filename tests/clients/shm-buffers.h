// wl_shm buffers for the test clients: created filled, and destroyed once the compositor
// releases them (or all at once at exit, so that a leak checker sees a clean end).
#pragma once

#include <stdint.h>

#include <wayland-client.h>

struct shm_buffer;

// The buffers a client has handed to the compositor and not yet got back.
struct shm_buffers {
    struct shm_buffer* head;
};

// A fresh XRGB8888 buffer whose pixels `fill` writes (rows of `width` pixels, tightly packed).
// It stays in `buffers` until the compositor releases it. fail()s when out of memory.
struct wl_buffer*
shm_buffer_create(struct shm_buffers* buffers, struct wl_shm* shm, int width, int height,
                  void (*fill)(uint32_t* pixels, int width, int height, const void* data),
                  const void* data);

// Destroys the buffers not yet released.
void shm_buffers_destroy(struct shm_buffers* buffers);
