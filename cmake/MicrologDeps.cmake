# SPDX-License-Identifier: MIT
# MicrologDeps.cmake - find the system libraries microlog links against.
# Every library comes from a Debian package and is found through pkg-config;
# when one is missing the configure step stops and names the package to
# install (scripts/install-deps.sh installs them all).

find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
    message(FATAL_ERROR
        "pkg-config not found: install the Debian package 'pkg-config' "
        "(apt-get install pkg-config, or run: make deps)")
endif()

# ml_require_pkg(<prefix> <pkg-config module> <Debian package>)
# Defines the imported target PkgConfig::<prefix> or fails naming the
# Debian package that provides the module.
function(ml_require_pkg prefix module debian_pkg)
    if(TARGET PkgConfig::${prefix})
        return()
    endif()
    pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
    if(NOT ${prefix}_FOUND)
        message(FATAL_ERROR
            "Missing system library '${module}' (pkg-config module "
            "${module}.pc not found): install the Debian package "
            "'${debian_pkg}' (apt-get install ${debian_pkg}, or run: make deps)")
    endif()
    message(STATUS "Found ${module} ${${prefix}_VERSION} (${debian_pkg})")
endfunction()
