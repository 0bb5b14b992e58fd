// A small xdg toplevel of one colour for the test clients: mapped with a 64x48 buffer on its
// first configure, every later configure acknowledged.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <wayland-client.h>

#include "shm-buffers.h"
#include "xdg-shell-client-protocol.h"

struct solid_window {
    uint32_t color; // RRGGBB
    struct wl_shm* shm;
    struct shm_buffers* buffers;
    struct wl_surface* surface;
    struct xdg_surface* xdg_surface;
    struct xdg_toplevel* toplevel;
    bool mapped; // its buffer is committed
};

// Creates the window and commits it without a buffer, which asks for the first configure.
void solid_window_create(struct solid_window* window, struct wl_compositor* compositor,
                         struct xdg_wm_base* wm_base, struct wl_shm* shm,
                         struct shm_buffers* buffers, const char* app_id, uint32_t color);

// Answers the compositor's pings on `wm_base`, so that it does not take the client for hung.
void answer_pings(struct xdg_wm_base* wm_base);
