#include "control_socket.hpp"

#include "log_scopes.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <format>

namespace tessera::compositor {

struct ControlSocket::Client {
    UniqueFd fd;
    std::unique_ptr<FdWatch> watch;
    std::string input;
    std::string output;
    // Replies still to come; the client object must outlive them, so it is only freed once
    // none is pending.
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    bool closing = false;
};

std::expected<std::unique_ptr<ControlSocket>, std::string>
ControlSocket::create(wl_event_loop* loop, std::string path, Handler handler) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) {
        return std::unexpected(std::format("control socket path too long: {}", path));
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return std::unexpected(std::format("control socket: {}", std::strerror(errno)));
    }
    unlink(path.c_str()); // a stale socket from a crashed run
    // Owner only, from the start: no window in which others could connect.
    mode_t old_mask = umask(0177);
    int bound = bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
    umask(old_mask);
    if (bound != 0 || listen(fd.get(), 8) != 0) {
        return std::unexpected(std::format("control socket {}: {}", path, std::strerror(errno)));
    }
    return std::unique_ptr<ControlSocket>(
        new ControlSocket(loop, std::move(path), std::move(fd), std::move(handler)));
}

ControlSocket::ControlSocket(wl_event_loop* loop, std::string path, UniqueFd fd, Handler handler)
    : loop_(loop), path_(std::move(path)), fd_(std::move(fd)), handler_(std::move(handler)) {
    watch_ = std::make_unique<FdWatch>(loop_, fd_.get(), WL_EVENT_READABLE,
                                       [this](uint32_t) { accept_clients(); });
}

ControlSocket::~ControlSocket() {
    for (auto& client : clients_) {
        *client->alive = false;
    }
    clients_.clear();
    graveyard_.clear();
    watch_.reset();
    unlink(path_.c_str());
}

void ControlSocket::accept_clients() {
    while (true) {
        UniqueFd fd(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!fd) {
            return;
        }
        auto client = std::make_unique<Client>();
        client->fd = std::move(fd);
        auto* raw = client.get();
        client->watch = std::make_unique<FdWatch>(
            loop_, raw->fd.get(), WL_EVENT_READABLE, [this, raw](uint32_t mask) {
                if (mask & WL_EVENT_WRITABLE) {
                    flush(*raw);
                }
                if (mask & WL_EVENT_READABLE) {
                    read_from(*raw);
                } else if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
                    close(*raw);
                }
            });
        clients_.push_back(std::move(client));
        log::debug(ctl_log, "control client connected");
    }
}

void ControlSocket::read_from(Client& client) {
    char buffer[4096];
    while (true) {
        ssize_t n = read(client.fd.get(), buffer, sizeof(buffer));
        if (n > 0) {
            client.input.append(buffer, static_cast<size_t>(n));
            if (client.input.size() > max_request_bytes &&
                client.input.find('\n') == std::string::npos) {
                client.output += R"({"ok":false,"error":"request too long"})"
                                 "\n";
                client.closing = true;
                client.input.clear();
                flush(client);
                return;
            }
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            // The peer is gone; answer nothing more.
            client.closing = true;
            client.output.clear();
            break;
        }
        if (errno == EAGAIN) {
            break;
        }
    }
    size_t newline = 0;
    while ((newline = client.input.find('\n')) != std::string::npos) {
        std::string line = client.input.substr(0, newline);
        client.input.erase(0, newline + 1);
        handler_(line, Reply(this, &client, client.alive));
        if (client.closing) {
            break;
        }
    }
    if (client.closing && client.output.empty()) {
        close(client);
    }
}

void ControlSocket::Reply::operator()(std::string line) const {
    if (!open()) {
        return;
    }
    client_->output += line;
    client_->output += '\n';
    socket_->flush(*client_);
}

bool ControlSocket::Reply::open() const {
    auto alive = alive_.lock();
    return alive && *alive;
}

size_t ControlSocket::Reply::backlog_bytes() const {
    return open() ? client_->output.size() : 0;
}

void ControlSocket::flush(Client& client) {
    while (!client.output.empty()) {
        ssize_t n = send(client.fd.get(), client.output.data(), client.output.size(), MSG_NOSIGNAL);
        if (n > 0) {
            client.output.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            client.watch->set_mask(WL_EVENT_READABLE | WL_EVENT_WRITABLE);
            return;
        }
        client.output.clear();
        client.closing = true;
        break;
    }
    client.watch->set_mask(WL_EVENT_READABLE);
    if (client.closing) {
        close(client);
    }
}

void ControlSocket::close(Client& client) {
    *client.alive = false;
    auto it = std::ranges::find_if(clients_, [&](const auto& c) { return c.get() == &client; });
    if (it == clients_.end()) {
        return;
    }
    // This may run inside the client's own fd callback: free it once the loop is idle.
    (*it)->watch->set_mask(0);
    graveyard_.splice(graveyard_.end(), clients_, it);
    cleanup_.schedule(loop_, [this] { graveyard_.clear(); });
    log::debug(ctl_log, "control client disconnected");
}

} // namespace tessera::compositor
