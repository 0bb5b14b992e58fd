#pragma once

#include "event_loop.hpp"
#include "gpu-backend/base/unique_fd.hpp"

#include <expected>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>

namespace tessera::compositor {

// The control socket tessera-ctl talks to: a Unix stream socket (mode 0600) where each request
// is one line and each reply one line (the JSON protocol of compositor/ctl/PROTOCOL.md). It only
// moves lines; the handler gives meaning to them and may reply later (screenshots wait for a
// frame).
class ControlSocket {
    struct Client;

public:
    // Where the answers to one request go. It may be called again later (a subscription sends
    // event lines until the peer goes); calls after the peer went do nothing.
    class Reply {
    public:
        void operator()(std::string line) const;
        // Whether the peer is still connected.
        [[nodiscard]] bool open() const;
        // What was answered but not yet written to the socket because the peer does not read.
        [[nodiscard]] size_t backlog_bytes() const;

    private:
        friend class ControlSocket;
        Reply(ControlSocket* socket, Client* client, std::weak_ptr<bool> alive)
            : socket_(socket), client_(client), alive_(std::move(alive)) {}
        ControlSocket* socket_;
        Client* client_;
        std::weak_ptr<bool> alive_;
    };
    using Handler = std::function<void(std::string_view request, Reply reply)>;

    static std::expected<std::unique_ptr<ControlSocket>, std::string>
    create(wl_event_loop* loop, std::string path, Handler handler);
    ~ControlSocket();
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] size_t client_count() const { return clients_.size(); }

    // Longest request accepted; a longer one gets an error and the connection is closed.
    static constexpr size_t max_request_bytes = 64 * 1024;

private:
    ControlSocket(wl_event_loop* loop, std::string path, UniqueFd fd, Handler handler);
    void accept_clients();
    void read_from(Client& client);
    void flush(Client& client);
    void close(Client& client);

    wl_event_loop* loop_;
    std::string path_;
    UniqueFd fd_;
    Handler handler_;
    std::unique_ptr<FdWatch> watch_;
    std::list<std::unique_ptr<Client>> clients_;
    std::list<std::unique_ptr<Client>> graveyard_; // closed, freed when the loop is idle
    IdleCall cleanup_;
};

} // namespace tessera::compositor
