// inet_pton and inet_ntop: the same functions, declared by different headers (POSIX
// <arpa/inet.h>, Winsock <ws2tcpip.h>). Header-only: there is nothing to implement.
#pragma once

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#endif
