# ablate_test(NAME SOURCES ... LIBS ... [LABELS ...] [TIMEOUT s])
# One gtest binary per test file group, registered with CTest as a single test (not per-case
# discovery: a LibTorch-linked process costs ~0.5 s to start, STACK-NOTES.md). Tests run with the
# repository root as working directory so they can read ../shared/... exactly as documented.
function(ablate_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main ablate_warnings)
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1 WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "ABLATE_BIN_DIR=${PROJECT_BINARY_DIR}/bin;ABLATE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
