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

if(ABLATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
