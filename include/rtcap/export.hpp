// RTCAP_API marks what librtcap exports; RTCAP_METRICS_SERVER_API what librtcap-metrics-server
// (rtcap/metrics_server.hpp) exports, by the same rules (its objects:
// RTCAP_METRICS_SERVER_BUILDING).
// - ELF (Linux): the library is built with hidden visibility, so only the public API is exported
//   and internal symbols cannot clash with an application's.
// - MinGW (GCC or Clang for Windows): __declspec(dllexport) while librtcap.dll itself is built
//   (RTCAP_BUILDING, set by CMake on the library's objects), __declspec(dllimport) for programs
//   that link the DLL, so that the DLL exports the API and nothing else (.ci/windows-cross.sh
//   checks its export table). Programs that link the static library (rtcap::rtcap_static) get
//   RTCAP_STATIC_DEFINE from CMake and plain declarations.
// - MSVC: empty; that build exports every symbol (WINDOWS_EXPORT_ALL_SYMBOLS), because
//   dllexport on classes with standard-library members warns (C4251) under /W4 /WX, and that
//   build is not checked here (docs/WINDOWS.md).
// This file and rtcap.h (the same for the C API) are the public headers' platform seam.
#pragma once

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(RTCAP_STATIC_DEFINE) || (defined(_MSC_VER) && !defined(__clang__))
#define RTCAP_API
#elif defined(RTCAP_BUILDING)
#define RTCAP_API __declspec(dllexport)
#else
#define RTCAP_API __declspec(dllimport)
#endif
#else
#define RTCAP_API __attribute__((visibility("default")))
#endif

#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(RTCAP_STATIC_DEFINE) || (defined(_MSC_VER) && !defined(__clang__))
#define RTCAP_METRICS_SERVER_API
#elif defined(RTCAP_METRICS_SERVER_BUILDING)
#define RTCAP_METRICS_SERVER_API __declspec(dllexport)
#else
#define RTCAP_METRICS_SERVER_API __declspec(dllimport)
#endif
#else
#define RTCAP_METRICS_SERVER_API __attribute__((visibility("default")))
#endif

// For a type nested in an exported class that is an implementation detail (a pimpl's Impl).
// Windows: a nested class is not exported with its enclosing one, so there is nothing to say.
#if defined(_WIN32) || defined(__CYGWIN__)
#define RTCAP_LOCAL
#else
#define RTCAP_LOCAL __attribute__((visibility("hidden")))
#endif
