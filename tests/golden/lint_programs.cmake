# Checks the golden-test programs themselves (cmake -P, -DSOURCE_DIR=...): every program starts
# with a `//` comment saying what it is (for a bad program: the intended error), and every
# expected file belongs to a program that exists.
cmake_minimum_required(VERSION 3.20)
set(problems "")

file(GLOB programs RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/tests/programs/good/*.model ${SOURCE_DIR}/tests/programs/bad/*.model)
file(GLOB_RECURSE models RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/models/*.model)
foreach(program ${programs} ${models})
  file(STRINGS ${SOURCE_DIR}/${program} first_line LIMIT_COUNT 1)
  if(NOT first_line MATCHES "^// .")
    string(APPEND problems "${program}: the first line is not a `// ...` comment\n")
  endif()
endforeach()

file(GLOB expected_files RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/tests/programs/good/*.expected ${SOURCE_DIR}/tests/programs/bad/*.expected)
file(GLOB_RECURSE model_expected RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/tests/golden/models/*.expected)
foreach(expected ${expected_files} ${model_expected})
  string(REGEX REPLACE "(\\.typed|\\.stderr)?\\.expected$" ".model" program ${expected})
  string(REGEX REPLACE "^tests/golden/models/" "models/" program ${program})
  if(NOT EXISTS ${SOURCE_DIR}/${program})
    string(APPEND problems "${expected}: no program ${program}\n")
  endif()
endforeach()

if(NOT problems STREQUAL "")
  message(FATAL_ERROR "${problems}")
endif()
