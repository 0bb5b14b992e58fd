// tessera-sandbox: runs a program inside a Wayland security context (security-context-v1), as
// a sandbox engine such as Flatpak does: the program connects through a socket of its own,
// which the compositor knows to be sandboxed.
//
// usage: tessera-sandbox [--app-id ID] PROGRAM [ARGUMENTS...]
// Exits with the program's status; prints "sandbox SOCKET" before starting it.

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <wayland-client.h>

#include "client-util.h"
#include "security-context-v1-client-protocol.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

const char* const program_name = "tessera-sandbox";

static struct wp_security_context_manager_v1* manager;

static void registry_global(void* data, struct wl_registry* registry, uint32_t name,
                            const char* interface, uint32_t version) {
    if (strcmp(interface, wp_security_context_manager_v1_interface.name) == 0 && !manager)
        manager = wl_registry_bind(registry, name, &wp_security_context_manager_v1_interface, 1);
}

static void registry_global_remove(void* data, struct wl_registry* registry, uint32_t name) {}

static const struct wl_registry_listener registry_listener = {
    .global = registry_global,
    .global_remove = registry_global_remove,
};

// A listening socket in $XDG_RUNTIME_DIR; its path in `path`.
static int listen_socket(char* path, size_t size) {
    const char* runtime_dir = getenv("XDG_RUNTIME_DIR");
    if (!runtime_dir)
        fail("XDG_RUNTIME_DIR is not set");
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    int length = snprintf(path, size, "%s/tessera-sandbox-%d", runtime_dir, (int)getpid());
    if (length < 0 || (size_t)length >= size || (size_t)length >= sizeof(address.sun_path))
        fail("the socket path in XDG_RUNTIME_DIR is too long");
    memcpy(address.sun_path, path, (size_t)length + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail("socket: %s", strerror(errno));
    unlink(path);
    if (bind(fd, (struct sockaddr*)&address, sizeof(address)) < 0 || listen(fd, 8) < 0)
        fail("cannot listen on %s: %s", path, strerror(errno));
    return fd;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char* app_id = "org.tessera.sandboxed";
    static const struct option options[] = {
        {"app-id", required_argument, NULL, 'a'},
        {0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
        if (c != 'a')
            exit(1);
        app_id = optarg;
    }
    if (optind >= argc)
        fail("usage: %s [--app-id ID] PROGRAM [ARGUMENTS...]", program_name);

    struct wl_registry* registry = NULL;
    struct wl_display* display = connect_and_list_globals(&registry_listener, &registry);
    if (!manager)
        fail("the compositor lacks wp_security_context_manager_v1");

    char path[256];
    int listen_fd = listen_socket(path, sizeof(path));
    // The compositor stops serving the socket once the write end of this pipe is closed.
    int close_pipe[2];
    if (pipe2(close_pipe, O_CLOEXEC) < 0)
        fail("pipe: %s", strerror(errno));
    struct wp_security_context_v1* context =
        wp_security_context_manager_v1_create_listener(manager, listen_fd, close_pipe[0]);
    close(listen_fd);
    close(close_pipe[0]);
    wp_security_context_v1_set_sandbox_engine(context, "org.tessera.test-sandbox");
    wp_security_context_v1_set_app_id(context, app_id);
    wp_security_context_v1_set_instance_id(context, "1");
    wp_security_context_v1_commit(context);
    wp_security_context_v1_destroy(context);
    if (wl_display_roundtrip(display) < 0)
        fail("the compositor refused the security context");
    printf("sandbox %s\n", path);

    pid_t child = fork();
    if (child < 0)
        fail("fork: %s", strerror(errno));
    if (child == 0) {
        setenv("WAYLAND_DISPLAY", path, 1);
        execvp(argv[optind], &argv[optind]);
        fprintf(stderr, "%s: cannot run %s: %s\n", program_name, argv[optind], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    close(close_pipe[1]);
    unlink(path);
    wp_security_context_manager_v1_destroy(manager);
    wl_registry_destroy(registry);
    wl_display_disconnect(display);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
