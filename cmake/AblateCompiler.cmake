# Compiler settings shared by every Ablate target. Third-party headers are included as SYSTEM
# (imported targets do this by default) so -Wall -Wextra stay about our own code.
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_library(ablate_warnings INTERFACE)
target_compile_options(ablate_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
if(ABLATE_WERROR)
  target_compile_options(ablate_warnings INTERFACE -Werror)
endif()
# Every target of ours links ablate_warnings, so this reaches exactly our code (third-party headers
# are SYSTEM includes, where clang does not report).
if(ABLATE_THREAD_SAFETY_ANALYSIS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ABLATE_THREAD_SAFETY_ANALYSIS needs clang (CC=clang CXX=clang++)")
  endif()
  target_compile_options(ablate_warnings INTERFACE -Wthread-safety -Werror=thread-safety)
endif()

if(ABLATE_SANITIZE)
  # -fno-sanitize-recover: a UBSan report ends the process, so the test fails instead of passing
  # with a message in its log.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(ABLATE_SANITIZE_THREAD)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
# GCC 12's -Wmaybe-uninitialized misfires on the instrumented code (e.g. moving a std::optional
# holding vectors in protocol/retention_spec_test.cc); the plain Release build keeps the warning,
# so nothing goes unchecked there.
if((ABLATE_SANITIZE OR ABLATE_SANITIZE_THREAD) AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(ablate_warnings INTERFACE -Wno-maybe-uninitialized)
endif()

# Fuzz builds instrument every target for coverage (fuzzer-no-link) and sanitizers; only the
# fuzz_* executables link libFuzzer's main (fuzz/CMakeLists.txt).
if(ABLATE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ABLATE_FUZZ needs clang (CXX=clang++ CC=clang); scripts/fuzz.sh sets it")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
