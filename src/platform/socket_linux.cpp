// Linux (POSIX) sockets for the metrics server: socket.hpp.
#include <fcntl.h>

#include "platform/socket.hpp"

namespace rtcap::platform {

int poll_sockets(pollfd* fds, std::size_t n, int timeout_ms) {
  return ::poll(fds, static_cast<nfds_t>(n), timeout_ms);
}
void close_socket(socket_handle s) { ::close(s); }
int socket_error() { return errno; }
bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }
bool set_nonblocking(socket_handle s) {
  const int flags = ::fcntl(s, F_GETFL);
  return flags >= 0 && ::fcntl(s, F_SETFL, flags | O_NONBLOCK) == 0 &&
         ::fcntl(s, F_SETFD, FD_CLOEXEC) == 0;
}
void allow_address_reuse(socket_handle s) {
  const int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

}  // namespace rtcap::platform
