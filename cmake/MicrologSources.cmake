# SPDX-License-Identifier: MIT
# MicrologSources.cmake - turn the folder layout into targets.
# Sources are globbed per folder (src/<layer>/*.c); OS-specific files are
# named *_<os>.c and only the host's are kept (libuv style). A folder with
# no sources yet gives an INTERFACE library, so dependents still configure.

# Suffixes that mark a file as OS-specific, and those that fit this host.
set(ML_OS_SUFFIXES linux darwin freebsd openbsd netbsd win32 windows unix posix)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(ML_HOST_OS_SUFFIXES linux unix posix)
elseif(APPLE)
    set(ML_HOST_OS_SUFFIXES darwin unix posix)
elseif(CMAKE_SYSTEM_NAME MATCHES "BSD")
    string(TOLOWER "${CMAKE_SYSTEM_NAME}" _ml_bsd)
    set(ML_HOST_OS_SUFFIXES ${_ml_bsd} unix posix)
elseif(WIN32)
    set(ML_HOST_OS_SUFFIXES win32 windows)
else()
    set(ML_HOST_OS_SUFFIXES unix posix)
endif()

# ml_glob_sources(<out-var> <dir>): the .c files of <dir> for this host.
function(ml_glob_sources out dir)
    file(GLOB _all CONFIGURE_DEPENDS "${dir}/*.c")
    set(_keep "")
    foreach(_src IN LISTS _all)
        get_filename_component(_name "${_src}" NAME_WE)
        set(_ok TRUE)
        foreach(_os IN LISTS ML_OS_SUFFIXES)
            if(_name MATCHES "_${_os}$")
                list(FIND ML_HOST_OS_SUFFIXES ${_os} _idx)
                if(_idx EQUAL -1)
                    set(_ok FALSE)
                endif()
            endif()
        endforeach()
        if(_ok)
            list(APPEND _keep "${_src}")
        endif()
    endforeach()
    list(SORT _keep)
    set(${out} "${_keep}" PARENT_SCOPE)
endfunction()

# ml_add_layer(<target> <dir> [DEPS <targets/libs>...])
# A static library from the sources of <dir>, or an INTERFACE library when
# the folder has none yet. <dir> and src/ are public include directories,
# so both "ml_format.h" and "format/ml_format.h" work.
function(ml_add_layer target dir)
    cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "DEPS")
    ml_glob_sources(_srcs "${dir}")
    if(_srcs)
        add_library(${target} STATIC ${_srcs})
        target_include_directories(${target} PUBLIC
            "${dir}" "${PROJECT_SOURCE_DIR}/src")
        target_link_libraries(${target} PUBLIC ${ARG_DEPS})
        list(LENGTH _srcs _n)
        message(STATUS "${target}: ${_n} source(s) in ${dir}")
    else()
        add_library(${target} INTERFACE)
        target_include_directories(${target} INTERFACE
            "${dir}" "${PROJECT_SOURCE_DIR}/src")
        target_link_libraries(${target} INTERFACE ${ARG_DEPS})
        message(STATUS "${target}: no sources in ${dir} yet (interface only)")
    endif()
endfunction()

# ml_add_support_lib(<target> <include-dir> SOURCES <srcs>... DEPS <libs>...)
# Helpers shared by the test programs of one folder, compiled once: a
# static library, or an INTERFACE one when there are no helper sources.
function(ml_add_support_lib target incdir)
    cmake_parse_arguments(PARSE_ARGV 2 ARG "" "" "SOURCES;DEPS")
    if(ARG_SOURCES)
        add_library(${target} STATIC ${ARG_SOURCES})
        set(_scope PUBLIC)
    else()
        add_library(${target} INTERFACE)
        set(_scope INTERFACE)
    endif()
    target_include_directories(${target} ${_scope} "${incdir}")
    target_link_libraries(${target} ${_scope} ${ARG_DEPS})
endfunction()
