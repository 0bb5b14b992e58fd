// tessera-toplevel-list: prints the windows the compositor lists through
// ext-foreign-toplevel-list-v1, as a taskbar sees them. One line per event on stdout:
// "toplevel APP_ID TITLE" when a window appears or changes, "closed APP_ID" when it goes,
// "finished" when the compositor stops the list. Runs until killed.

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-client.h>

#include "client-util.h"
#include "ext-foreign-toplevel-list-v1-client-protocol.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

const char* const program_name = "tessera-toplevel-list";

// What a handle has said so far; printed on its `done`.
struct window {
    char* app_id;
    char* title;
};

static void replace(char** field, const char* text) {
    free(*field);
    *field = strdup(text);
    if (!*field)
        fail("out of memory");
}

static void handle_closed(void* data, struct ext_foreign_toplevel_handle_v1* handle) {
    struct window* window = data;
    printf("closed %s\n", window->app_id ? window->app_id : "");
    free(window->app_id);
    free(window->title);
    free(window);
    ext_foreign_toplevel_handle_v1_destroy(handle);
}

static void handle_done(void* data, struct ext_foreign_toplevel_handle_v1* handle) {
    struct window* window = data;
    printf("toplevel %s %s\n", window->app_id ? window->app_id : "",
           window->title ? window->title : "");
}

static void handle_title(void* data, struct ext_foreign_toplevel_handle_v1* handle,
                         const char* title) {
    replace(&((struct window*)data)->title, title);
}

static void handle_app_id(void* data, struct ext_foreign_toplevel_handle_v1* handle,
                          const char* app_id) {
    replace(&((struct window*)data)->app_id, app_id);
}

static void handle_identifier(void* data, struct ext_foreign_toplevel_handle_v1* handle,
                              const char* identifier) {}

static const struct ext_foreign_toplevel_handle_v1_listener handle_listener = {
    .closed = handle_closed,
    .done = handle_done,
    .title = handle_title,
    .app_id = handle_app_id,
    .identifier = handle_identifier,
};

static void list_toplevel(void* data, struct ext_foreign_toplevel_list_v1* list,
                          struct ext_foreign_toplevel_handle_v1* handle) {
    struct window* window = calloc(1, sizeof(*window));
    if (!window)
        fail("out of memory");
    ext_foreign_toplevel_handle_v1_add_listener(handle, &handle_listener, window);
}

static bool running = true;

static void list_finished(void* data, struct ext_foreign_toplevel_list_v1* list) {
    printf("finished\n");
    running = false;
}

static const struct ext_foreign_toplevel_list_v1_listener list_listener = {
    .toplevel = list_toplevel,
    .finished = list_finished,
};

static struct ext_foreign_toplevel_list_v1* list;

static void registry_global(void* data, struct wl_registry* registry, uint32_t name,
                            const char* interface, uint32_t version) {
    if (strcmp(interface, ext_foreign_toplevel_list_v1_interface.name) == 0 && !list) {
        list = wl_registry_bind(registry, name, &ext_foreign_toplevel_list_v1_interface, 1);
        ext_foreign_toplevel_list_v1_add_listener(list, &list_listener, NULL);
    }
}

static void registry_global_remove(void* data, struct wl_registry* registry, uint32_t name) {}

static const struct wl_registry_listener registry_listener = {
    .global = registry_global,
    .global_remove = registry_global_remove,
};

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1)
        fail("usage: %s", program_name);
    struct wl_registry* registry = NULL;
    struct wl_display* display = connect_and_list_globals(&registry_listener, &registry);
    if (!list)
        fail("the compositor lacks ext_foreign_toplevel_list_v1");
    printf("listening\n");
    while (running) {
        if (wl_display_dispatch(display) < 0)
            fail("connection lost: %s", strerror(errno));
    }
    ext_foreign_toplevel_list_v1_destroy(list);
    wl_registry_destroy(registry);
    wl_display_disconnect(display);
    return 0;
}
