#include "solid-window.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

enum { WIDTH = 64, HEIGHT = 48 };

static void fill(uint32_t* pixels, int width, int height, const void* data) {
    uint32_t color = *(const uint32_t*)data;
    for (int i = 0; i < width * height; ++i)
        pixels[i] = 0xff000000u | color;
}

static void surface_configure(void* data, struct xdg_surface* xdg_surface, uint32_t serial) {
    struct solid_window* window = data;
    xdg_surface_ack_configure(xdg_surface, serial);
    if (!window->mapped) {
        wl_surface_attach(
            window->surface,
            shm_buffer_create(window->buffers, window->shm, WIDTH, HEIGHT, fill, &window->color), 0,
            0);
        wl_surface_damage_buffer(window->surface, 0, 0, WIDTH, HEIGHT);
        window->mapped = true;
    }
    wl_surface_commit(window->surface);
}
static const struct xdg_surface_listener surface_listener = {.configure = surface_configure};

static void toplevel_configure(void* data, struct xdg_toplevel* toplevel, int32_t width,
                               int32_t height, struct wl_array* states) {}
static void toplevel_close(void* data, struct xdg_toplevel* toplevel) {}
static const struct xdg_toplevel_listener toplevel_listener = {
    .configure = toplevel_configure,
    .close = toplevel_close,
};

void solid_window_create(struct solid_window* window, struct wl_compositor* compositor,
                         struct xdg_wm_base* wm_base, struct wl_shm* shm,
                         struct shm_buffers* buffers, const char* app_id, uint32_t color) {
    *window = (struct solid_window){.color = color, .shm = shm, .buffers = buffers};
    window->surface = wl_compositor_create_surface(compositor);
    window->xdg_surface = xdg_wm_base_get_xdg_surface(wm_base, window->surface);
    xdg_surface_add_listener(window->xdg_surface, &surface_listener, window);
    window->toplevel = xdg_surface_get_toplevel(window->xdg_surface);
    xdg_toplevel_add_listener(window->toplevel, &toplevel_listener, window);
    xdg_toplevel_set_app_id(window->toplevel, app_id);
    wl_surface_commit(window->surface);
}

static void wm_ping(void* data, struct xdg_wm_base* wm_base, uint32_t serial) {
    xdg_wm_base_pong(wm_base, serial);
}
static const struct xdg_wm_base_listener wm_listener = {.ping = wm_ping};

void answer_pings(struct xdg_wm_base* wm_base) {
    xdg_wm_base_add_listener(wm_base, &wm_listener, NULL);
}
