#pragma once

#include "control_socket.hpp"

#include <string_view>

namespace tessera::compositor {

class Server;

// Gives meaning to control-socket requests (compositor/ctl/PROTOCOL.md): listings, zone and
// profile changes, layout reload, screenshots and statistics. A malformed or failing request
// gets {"ok":false,"error":...} and changes nothing.
class ControlCommands {
public:
    explicit ControlCommands(Server& server) : server_(server) {}
    void handle(std::string_view request, ControlSocket::Reply reply);

private:
    Server& server_;
};

} // namespace tessera::compositor
