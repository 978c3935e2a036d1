# Installed files beyond the library and headers, and the Debian packages CPack builds from them.
# Included from the top-level CMakeLists.txt after the install() rules of the library.
#
#   scripts/build-deb.sh BUILD_DIR     # configures for /usr, builds, runs cpack -G DEB
#
# Six packages, split as Debian splits a shared library (Debian Policy 8.1-8.4), and each
# binary one's debug symbols beside it (librtcap1-dbgsym, ..., rtcap-dbgsym: CPack's .ddeb,
# Debian's automatic -dbgsym form, /usr/lib/debug/.build-id/):
#   librtcap1      lib/<multiarch>/librtcap.so.1*          what an embedding program needs to run
#   librtcap-metrics-server1   lib/<multiarch>/librtcap-metrics-server.so.1*   the metrics
#                  server (MetricsServer), for a program that serves metrics; it alone needs
#                  cpp-httplib (and through it OpenSSL, zlib, brotli), so librtcap1 does not
#   librtcap-dev   headers, both .so links, CMake and pkg-config files   what it needs to build
#   rtcap          /usr/bin/rtcap (linked with the static library), rtcap(1), rtcap@.service
#   rtcap-doc      README, docs/*.md and the examples under /usr/share/doc/rtcap-doc (rtcap(1)
#                  names these paths)
#   python3-rtcap  the Python module (python/rtcap.py, ctypes over librtcap.so.1)
# Why not one package: an application that embeds rtcap (a console's control software, a test
# rig) then depends on the library only, not on a CLI and a service it does not use; a SONAME
# bump (librtcap1) can be installed beside librtcap0 while programs built against 0 remain; and
# lintian expects the split (package-name-doesnt-match-sonames otherwise). The cost is an
# install component per package, named below on each install() rule.
# The bump from 0 to 1 moved MetricsServer out of librtcap: librtcap1 and librtcap0 share no
# file (other SONAME, other doc directory), so they are co-installable and neither Breaks nor
# Replaces the other (Policy 7.6 asks for those only when a file moves between packages).

# The components, named on every install() rule of the tree: lib, dev, cli.
set(RTCAP_COMPONENT_LIB lib)
set(RTCAP_COMPONENT_METRICS_SERVER metrics_server)
set(RTCAP_COMPONENT_DEV dev)
set(RTCAP_COMPONENT_CLI cli)
set(RTCAP_COMPONENT_DOC doc)
set(RTCAP_COMPONENT_PYTHON python)

if(WIN32)
  return()  # rtcap.exe + rtcap.dll are copied by hand there (docs/WINDOWS.md); no pkg-config, no systemd
endif()

# pkg-config and the systemd unit name absolute paths, so they are written at install time with
# the prefix of that install (cmake --install --prefix DIR, or /usr under CPack), not the
# configure-time CMAKE_INSTALL_PREFIX. rtcapConfig.cmake needs no such step: it is relocatable.
set(RTCAP_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
  "Where rtcap@.service is installed, relative to the prefix (Debian 12: /lib is /usr/lib)")
set(_rtcap_install_time_files
  "${PROJECT_SOURCE_DIR}/cmake/rtcap.pc.in|${CMAKE_INSTALL_LIBDIR}/pkgconfig|rtcap.pc|${RTCAP_COMPONENT_DEV}"
  "${PROJECT_SOURCE_DIR}/cmake/rtcap-metrics-server.pc.in|${CMAKE_INSTALL_LIBDIR}/pkgconfig|rtcap-metrics-server.pc|${RTCAP_COMPONENT_DEV}"
  "${PROJECT_SOURCE_DIR}/cmake/rtcap@.service.in|${RTCAP_SYSTEMD_UNIT_DIR}|rtcap@.service|${RTCAP_COMPONENT_CLI}")
foreach(entry IN LISTS _rtcap_install_time_files)
  string(REPLACE "|" ";" entry "${entry}")
  list(GET entry 0 template)
  list(GET entry 1 destination)
  list(GET entry 2 name)
  list(GET entry 3 component)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${template})
  # @PREFIX@, @LIBDIR@, @INCLUDEDIR@, @BINDIR@ are replaced at install time; the rest now.
  install(CODE "
    set(PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    set(LIBDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}\")
    set(INCLUDEDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_INCLUDEDIR}\")
    set(BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    set(PROJECT_VERSION \"${PROJECT_VERSION}\")
    set(PROJECT_DESCRIPTION \"${PROJECT_DESCRIPTION}\")
    configure_file(\"${template}\" \"${PROJECT_BINARY_DIR}/install-time/${name}\" @ONLY)
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${destination}\" TYPE FILE
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
      FILES \"${PROJECT_BINARY_DIR}/install-time/${name}\")"
    COMPONENT ${component})
endforeach()

# The man page, compressed as Debian Policy 12.1 asks (man reads it either way). -n: no name or
# time in the gzip header, so the package is reproducible.
find_program(RTCAP_GZIP gzip)
if(RTCAP_GZIP AND EXISTS ${PROJECT_SOURCE_DIR}/docs/rtcap.1)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/rtcap.1.gz
    COMMAND ${RTCAP_GZIP} -9n -c ${PROJECT_SOURCE_DIR}/docs/rtcap.1 > ${PROJECT_BINARY_DIR}/rtcap.1.gz
    DEPENDS ${PROJECT_SOURCE_DIR}/docs/rtcap.1 VERBATIM)
  add_custom_target(rtcap_manpage ALL DEPENDS ${PROJECT_BINARY_DIR}/rtcap.1.gz)
  install(FILES ${PROJECT_BINARY_DIR}/rtcap.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
    COMPONENT ${RTCAP_COMPONENT_CLI})
endif()

# The documentation where rtcap(1) says it is (scripts/gen-manpage.py names the same directory),
# uncompressed: the Markdown is read as it is and its links between files keep working.
set(RTCAP_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/rtcap-doc)
install(FILES README.md docs/ARCHITECTURE.md docs/EMBEDDING.md docs/TUNING.md docs/OPERATIONS.md
  docs/WINDOWS.md DESTINATION ${RTCAP_DOC_DIR} COMPONENT ${RTCAP_COMPONENT_DOC})
install(DIRECTORY examples/ DESTINATION ${RTCAP_DOC_DIR}/examples COMPONENT ${RTCAP_COMPONENT_DOC})
install(DIRECTORY python/examples/ DESTINATION ${RTCAP_DOC_DIR}/examples/python
  COMPONENT ${RTCAP_COMPONENT_DOC} FILES_MATCHING PATTERN "*.py")

# The Python module where Debian's python3 finds modules of every Python 3 version.
set(RTCAP_PYTHON_DIR "lib/python3/dist-packages" CACHE STRING
  "Where rtcap.py is installed, relative to the prefix")
install(FILES python/rtcap.py DESTINATION ${RTCAP_PYTHON_DIR} COMPONENT ${RTCAP_COMPONENT_PYTHON})

# Each Debian package carries its copyright file and a changelog (Debian Policy 12.5, 12.7).
set(RTCAP_DEB_MAINTAINER "rtcap maintainers <maintainers@users.noreply.r-seed-b05facd9.example>")
# string(TIMESTAMP) takes SOURCE_DATE_EPOCH when set (scripts/build-deb.sh sets it to the
# commit's time, so two builds of one commit give the same package).
string(TIMESTAMP RTCAP_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(entry librtcap${RTCAP_SOVERSION}:${RTCAP_COMPONENT_LIB}
    librtcap-metrics-server${RTCAP_SOVERSION}:${RTCAP_COMPONENT_METRICS_SERVER}
    librtcap-dev:${RTCAP_COMPONENT_DEV}
    rtcap:${RTCAP_COMPONENT_CLI} rtcap-doc:${RTCAP_COMPONENT_DOC}
    python3-rtcap:${RTCAP_COMPONENT_PYTHON})
  string(REPLACE ":" ";" entry "${entry}")
  list(GET entry 0 pkg)
  list(GET entry 1 component)
  set(RTCAP_DEB_PACKAGE ${pkg})
  configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in
    ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in ${PROJECT_SOURCE_DIR}/cmake/debian/copyright)
  if(RTCAP_GZIP)
    add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian.gz
      COMMAND ${RTCAP_GZIP} -9n -c ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian
        > ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian.gz
      DEPENDS ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian VERBATIM)
    add_custom_target(rtcap_changelog_${pkg} ALL
      DEPENDS ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian.gz)
    install(FILES ${PROJECT_BINARY_DIR}/debian/${pkg}/changelog.Debian.gz
      DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg} COMPONENT ${component})
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg} COMPONENT ${component})
endforeach()

# CPack: `cpack -G DEB` in a build configured with CMAKE_INSTALL_PREFIX=/usr (scripts/build-deb.sh).
set(CPACK_PACKAGE_NAME rtcap)
set(CPACK_PACKAGE_VENDOR "rtcap")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${RTCAP_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# CPack strips the ELF files itself and keeps what it takes out in the -dbgsym packages; with
# CPACK_STRIP_FILES on they would be stripped before it could.
set(CPACK_STRIP_FILES OFF)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${RTCAP_COMPONENT_LIB} ${RTCAP_COMPONENT_METRICS_SERVER}
  ${RTCAP_COMPONENT_DEV} ${RTCAP_COMPONENT_CLI}
  ${RTCAP_COMPONENT_DOC} ${RTCAP_COMPONENT_PYTHON})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${RTCAP_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # name_version-release_arch.deb
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps computes Depends from the ELF files (libpcap0.8, libfmt9, libstdc++6, libc6).
# /usr/bin/rtcap is linked with the static libraries (tools/rtcap/CMakeLists.txt): it needs no
# librtcap1. librtcap-metrics-server.so.1 needs librtcap.so.1, which no installed package
# provides yet: dpkg-shlibdeps finds it in the build tree (-l) and that Depends is written below.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME librtcap${RTCAP_SOVERSION})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# The shlibs file tells dpkg-shlibdeps of programs linked against librtcap.so.1 what to depend
# on: ">=" this version (the C API adds functions, never changes them, within one SONAME).
# (CPack 3.25 reads this setting for all components only: each library package gets its own.)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/librtcap${RTCAP_SOVERSION}/triggers)
set(CPACK_COMPONENT_LIB_DESCRIPTION "${PROJECT_DESCRIPTION} - shared library
 librtcap captures ~100,000 tiny RTP/UDP packets per second with no loss and a
 small, steady delay on libpcap. This package holds the shared library with
 its C++ and C interfaces.")

set(CPACK_DEBIAN_METRICS_SERVER_PACKAGE_NAME librtcap-metrics-server${RTCAP_SOVERSION})
set(CPACK_DEBIAN_METRICS_SERVER_PACKAGE_SECTION libs)
# Built from the same source against librtcap's C++ types: the same version of it.
set(CPACK_DEBIAN_METRICS_SERVER_PACKAGE_DEPENDS "librtcap${RTCAP_SOVERSION} (= ${_deb_version})")
set(CPACK_DEBIAN_METRICS_SERVER_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/librtcap-metrics-server${RTCAP_SOVERSION}/triggers)
set(CPACK_COMPONENT_METRICS_SERVER_DESCRIPTION "${PROJECT_DESCRIPTION} - metrics server
 librtcap-metrics-server serves librtcap's Prometheus metrics over HTTP
 (rtcap::MetricsServer): bounded connections and requests, loopback only
 unless allowed. A separate library so that programs that embed librtcap
 without serving metrics do not load an HTTP server.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME librtcap-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "librtcap${RTCAP_SOVERSION} (= ${_deb_version}), librtcap-metrics-server${RTCAP_SOVERSION} (= ${_deb_version})")
set(CPACK_DEBIAN_DEV_PACKAGE_SHLIBDEPS OFF)  # no ELF files: headers, a symlink, text
set(CPACK_DEBIAN_DEV_DEBUGINFO_PACKAGE OFF)
set(CPACK_COMPONENT_DEV_DESCRIPTION "${PROJECT_DESCRIPTION} - development files
 Headers for the C++ (rtcap/*.hpp) and C (rtcap/rtcap.h) interfaces, the
 librtcap.so and librtcap-metrics-server.so links, the CMake package
 (find_package(rtcap): rtcap::rtcap, rtcap::metrics_server) and the pkg-config
 files (pkg-config rtcap, rtcap-metrics-server).")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME rtcap)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION net)
set(CPACK_COMPONENT_CLI_DESCRIPTION "${PROJECT_DESCRIPTION} - command-line tool
 rtcap is a tcpdump-compatible capture command for high rates of tiny packets
 (AES67 / ST 2110-30 audio over IP): pcap and pcapng output with rotation,
 per-stream RTP loss and jitter, Prometheus metrics, tuning advice. It ships a
 systemd template unit, rtcap@IFACE.service, that captures on IFACE into a
 rotating pcapng ring with only CAP_NET_RAW and CAP_NET_ADMIN.")

# Maintainer scripts: rtcap@.service on upgrade, removal and purge (cmake/debian/rtcap/).
set(CPACK_DEBIAN_CLI_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/rtcap/postinst
  ${PROJECT_SOURCE_DIR}/cmake/debian/rtcap/prerm ${PROJECT_SOURCE_DIR}/cmake/debian/rtcap/postrm)
set(CPACK_DEBIAN_CLI_PACKAGE_SUGGESTS rtcap-doc)

set(CPACK_DEBIAN_DOC_PACKAGE_NAME rtcap-doc)
set(CPACK_DEBIAN_DOC_PACKAGE_SECTION doc)
set(CPACK_DEBIAN_DOC_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DOC_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_DOC_DEBUGINFO_PACKAGE OFF)
set(CPACK_COMPONENT_DOC_DESCRIPTION "${PROJECT_DESCRIPTION} - documentation and examples
 The README, the architecture, embedding, tuning, operations and Windows
 guides (Markdown), and example programs in C++, C and Python, under
 /usr/share/doc/rtcap-doc.")

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-rtcap)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_DEBIAN_PYTHON_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_PYTHON_DEBUGINFO_PACKAGE OFF)
# ctypes loads librtcap.so.1 by name: this version of it, whose C API the module was written for.
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS "python3:any, librtcap${RTCAP_SOVERSION} (= ${_deb_version})")
# rtcap.Audio hands numpy arrays when numpy is there, memoryviews otherwise.
set(CPACK_DEBIAN_PYTHON_PACKAGE_RECOMMENDS "python3-numpy")
set(CPACK_COMPONENT_PYTHON_DESCRIPTION "${PROJECT_DESCRIPTION} - Python 3 module
 The rtcap module: captures from Python through librtcap's C API (ctypes,
 standard library only), with batches handed to a callback as views,
 counters as dicts and errors as exceptions.")

include(CPack)
