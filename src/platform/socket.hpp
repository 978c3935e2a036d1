// The socket calls of the metrics server (io/metrics.cpp) that differ between POSIX sockets and
// Winsock: names for the same operation, and the error codes the server explains.
// Linux (socket_linux.cpp). Windows (socket_windows.cpp; ws2_32, which cpp-httplib links too).
// On Windows include <httplib.h> (or <winsock2.h>) first: it must come before <windows.h>.
#pragma once

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#endif

#include <cstddef>

namespace rtcap::platform {

#ifdef _WIN32
using socket_handle = SOCKET;  // what cpp-httplib calls socket_t
inline constexpr int kSendFlags = 0;
inline constexpr int kShutWrite = SD_SEND;
inline constexpr int kAddrInUse = WSAEADDRINUSE;
inline constexpr int kAccessDenied = WSAEACCES;
inline constexpr int kAddrNotAvailable = WSAEADDRNOTAVAIL;
#else
using socket_handle = int;
inline constexpr int kSendFlags = MSG_NOSIGNAL;  // a client gone mid-response is EPIPE, not SIGPIPE
inline constexpr int kShutWrite = SHUT_WR;
inline constexpr int kAddrInUse = EADDRINUSE;
inline constexpr int kAccessDenied = EACCES;
inline constexpr int kAddrNotAvailable = EADDRNOTAVAIL;
#endif

int poll_sockets(pollfd* fds, std::size_t n, int timeout_ms);  // poll / WSAPoll
void close_socket(socket_handle s);
int socket_error();                     // errno / WSAGetLastError
bool would_block(int socket_error);     // try again: EAGAIN, EWOULDBLOCK, EINTR and their WSA forms
bool set_nonblocking(socket_handle s);  // and, on Linux, close-on-exec
// SO_REUSEADDR on Linux, so that a restarted server binds while old connections linger in
// TIME_WAIT. Nothing on Windows: its SO_REUSEADDR would let a second process bind the same
// port, and its default already allows the restart.
void allow_address_reuse(socket_handle s);

}  // namespace rtcap::platform
