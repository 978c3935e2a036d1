// Windows (Winsock) sockets for the metrics server: socket.hpp.
#include "platform/socket.hpp"

namespace rtcap::platform {

int poll_sockets(pollfd* fds, std::size_t n, int timeout_ms) {
  return ::WSAPoll(fds, static_cast<ULONG>(n), timeout_ms);
}
void close_socket(socket_handle s) { ::closesocket(s); }
int socket_error() { return ::WSAGetLastError(); }
bool would_block(int e) { return e == WSAEWOULDBLOCK || e == WSAEINTR; }
bool set_nonblocking(socket_handle s) {
  u_long on = 1;
  return ::ioctlsocket(s, FIONBIO, &on) == 0;
}
void allow_address_reuse(socket_handle) {}

}  // namespace rtcap::platform
