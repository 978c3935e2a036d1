# Cross-compiling rtcap for 64-bit Windows with Debian's MinGW-w64 (posix thread model, which
# std::thread and std::mutex need): apt-get install g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64
#
#   cmake -S . -B build-mingw -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake -DRTCAP_WERROR=ON
#
# What the top CMakeLists.txt does with it (WIN32 branch): pcap, fmt (header-only), CLI11 and
# nlohmann-json headers are taken from Debian's own packages but copied into the build tree, so
# that the cross compiler never sees /usr/include (glibc's headers would shadow MinGW's); the
# wpcap.dll import library is made from cmake/wpcap.def with ${CMAKE_DLLTOOL} as a delay-import
# library (docs/WINDOWS.md says why). GoogleTest is built from /usr/src/googletest.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(RTCAP_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${RTCAP_MINGW_PREFIX}-gcc-posix)
set(CMAKE_CXX_COMPILER ${RTCAP_MINGW_PREFIX}-g++-posix)
set(CMAKE_RC_COMPILER ${RTCAP_MINGW_PREFIX}-windres)
set(CMAKE_DLLTOOL ${RTCAP_MINGW_PREFIX}-dlltool)

# Search headers and libraries only in the MinGW sysroot; programs (dlltool, wine) on the host.
set(CMAKE_FIND_ROOT_PATH /usr/${RTCAP_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Self-contained binaries: the GCC runtime (libgcc, libstdc++, winpthread) is linked statically
# into rtcap.exe, rtcap.dll and the test programs, so they need only Windows' own DLLs plus
# Npcap's wpcap.dll (delay-loaded). Every module has its own copy of the C++ runtime; that is
# safe here because memory is allocated and freed through msvcrt (one heap) and no exception
# crosses the rtcap.dll boundary (the library reports errors as rtcap::Result).
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
# rtcap.dll exports what include/rtcap/export.hpp marks __declspec(dllexport) (RTCAP_API) and
# nothing else: with one dllexport in the link, GNU ld exports no other symbol automatically.
# --exclude-libs keeps the static runtime's own annotated symbols out (winpthread's, and
# _Unwind_Resume and friends, which would clash in every program that links the DLL).
# .ci/windows-cross.sh checks the export table. (Not --exclude-libs,ALL: CMake links a DLL's
# own objects as an archive, objects.a.)
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static -Wl,--exclude-libs,libstdc++.a:libgcc.a:libgcc_eh.a:libwinpthread.a:libpthread.a:libmingwex.a:libmingw32.a:libmoldname.a")

# ctest and the CI script run the Windows programs under Wine when it is installed.
find_program(RTCAP_WINE_PROGRAM NAMES wine wine64)
if(RTCAP_WINE_PROGRAM)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${RTCAP_WINE_PROGRAM})
endif()
