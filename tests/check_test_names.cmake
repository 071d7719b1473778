# Every doctest TEST_CASE is one CTest test, named after the case (doctest_discover_tests). A ';'
# in a name splits it as a CMake list: CTest then asks doctest for a case that does not exist,
# doctest runs nothing, and the test passes without running. This check fails on such names.
# cmake -DDIR=<tests directory> -P check_test_names.cmake
file(GLOB_RECURSE sources "${DIR}/*.cpp")
set(bad "")
foreach(source ${sources})
  file(STRINGS "${source}" lines REGEX "TEST_CASE\\(\"")
  foreach(line IN LISTS lines)
    if(line MATCHES "TEST_CASE\\(\"[^\"]*\\;")
      string(APPEND bad "${source}: ${line}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "test case names with ';' (CTest cannot run them; use ',' instead):\n${bad}")
endif()
