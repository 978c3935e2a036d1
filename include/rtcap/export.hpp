// RTCAP_API marks what librtcap exports. The library is built with hidden visibility (ELF), so
// only the public API is exported and internal symbols cannot clash with an application's.
// Windows (MinGW and MSVC) builds export every symbol of rtcap.dll instead
// (WINDOWS_EXPORT_ALL_SYMBOLS; MinGW's auto-export stops at the first dllexport), so the macro
// is empty there.
#pragma once

#if defined(_WIN32) || defined(__CYGWIN__)
#define RTCAP_API
#else
#define RTCAP_API __attribute__((visibility("default")))
#endif

// For a type nested in an exported class that is an implementation detail (a pimpl's Impl).
#if defined(_WIN32) || defined(__CYGWIN__)
#define RTCAP_LOCAL
#else
#define RTCAP_LOCAL __attribute__((visibility("hidden")))
#endif
