# One INTERFACE target that carries the project's warnings and Qt defines (like qBittorrent's qbt_common_cfg).
# Every target of the project links it; nothing else sets warning flags.
add_library(quiesce_common_cfg INTERFACE)
add_library(Quiesce::common_cfg ALIAS quiesce_common_cfg)

target_compile_features(quiesce_common_cfg INTERFACE cxx_std_20)
target_compile_definitions(quiesce_common_cfg INTERFACE
    QT_NO_KEYWORDS
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
    QT_NO_URL_CAST_FROM_STRING
    QT_USE_QSTRINGBUILDER
    QT_STRICT_ITERATORS
    QT_DISABLE_DEPRECATED_BEFORE=0x060400)

if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(quiesce_common_cfg INTERFACE
        -Wall -Wextra -Wpedantic
        -Wcast-align -Wformat=2 -Wnon-virtual-dtor -Woverloaded-virtual
        -Wshadow -Wimplicit-fallthrough -Wundef
        $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond -Wlogical-op>)
    # A section per function, so that the window's link can put the code a run executes together
    # (app/CMakeLists.txt, app/quiesce.order). Nothing else changes: no section is dropped or folded.
    if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
        target_compile_options(quiesce_common_cfg INTERFACE -ffunction-sections)
    endif()
endif()

# quiesce_add_test(NAME SOURCES... [LIBS ...] [TIMEOUT s] [LABELS ...])
# Builds a Qt Test executable and registers it with CTest, always under the offscreen platform so that no test
# needs a display, with a per-test timeout so that a hang fails the test instead of the CI run.
function(quiesce_add_test name)
    cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS;ENVIRONMENT" ${ARGN})
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 120)
    endif()
    qt_add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE Qt6::Test Quiesce::common_cfg ${ARG_LIBS})
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES
        TIMEOUT ${ARG_TIMEOUT}
        LABELS "${ARG_LABELS}"
        ENVIRONMENT "QT_QPA_PLATFORM=offscreen;QT_FORCE_STDERR_LOGGING=1;QUIESCE_BINARY=$<TARGET_FILE:quiesce>;${ARG_ENVIRONMENT}")
endfunction()
