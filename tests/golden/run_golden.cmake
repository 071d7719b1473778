# Runs one golden-file test (cmake -P). Inputs (-D): HALOC, SOURCE_DIR, MODE (typed | check),
# MODEL and EXPECTED (paths relative to SOURCE_DIR), ACTUAL_DIR (where the actual output is
# written when it differs, for inspection).
#   typed: `haloc MODEL --dump=typed` must exit 0, stdout must equal EXPECTED, and stderr must
#          be empty or equal <EXPECTED without .typed.expected>.stderr.expected if that exists.
#   check: `haloc MODEL --check` must exit 1, stderr must equal EXPECTED, stdout must be empty.
cmake_minimum_required(VERSION 3.20)

foreach(var HALOC SOURCE_DIR MODE MODEL EXPECTED ACTUAL_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_golden.cmake: -D${var}=... is required")
  endif()
endforeach()

set(bless_hint "after an intended change run: scripts/bless-goldens.sh ${MODEL}")

function(read_expected path out_var)
  if(NOT EXISTS ${SOURCE_DIR}/${path})
    message(FATAL_ERROR "missing expected file ${path} for ${MODEL}\n${bless_hint}")
  endif()
  file(READ ${SOURCE_DIR}/${path} content)
  set(${out_var} "${content}" PARENT_SCOPE)
endfunction()

# Shows how `actual` differs from the expected file (diff -u on the test's output when diff is
# available; message() would rewrap its lines) and fails.
function(report_mismatch what expected_path actual)
  string(REPLACE "/" "_" flat ${expected_path})
  set(actual_path ${ACTUAL_DIR}/${flat})
  file(WRITE ${actual_path} "${actual}")
  find_program(DIFF diff)
  if(DIFF)
    execute_process(COMMAND ${DIFF} -u ${SOURCE_DIR}/${expected_path} ${actual_path})
  endif()
  message(FATAL_ERROR "${MODEL}: ${what} does not match ${expected_path} "
                      "(actual output: ${actual_path}); ${bless_hint}")
endfunction()

if(MODE STREQUAL "typed")
  set(args --dump=typed)
  set(expected_rc 0)
elseif(MODE STREQUAL "check")
  set(args --check)
  set(expected_rc 1)
else()
  message(FATAL_ERROR "run_golden.cmake: unknown MODE '${MODE}'")
endif()

execute_process(COMMAND ${HALOC} ${MODEL} ${args}
                WORKING_DIRECTORY ${SOURCE_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

if(NOT rc STREQUAL "${expected_rc}")
  message(FATAL_ERROR "${MODEL}: haloc ${args} exited with '${rc}', expected ${expected_rc}\n"
                      "stdout:\n${out}\nstderr:\n${err}")
endif()

if(MODE STREQUAL "typed")
  read_expected(${EXPECTED} expected_out)
  if(NOT out STREQUAL expected_out)
    report_mismatch("the typed dump" ${EXPECTED} "${out}")
  endif()
  string(REGEX REPLACE "\\.typed\\.expected$" ".stderr.expected" stderr_expected ${EXPECTED})
  if(EXISTS ${SOURCE_DIR}/${stderr_expected})
    read_expected(${stderr_expected} expected_err)
    if(NOT err STREQUAL expected_err)
      report_mismatch("stderr (warnings)" ${stderr_expected} "${err}")
    endif()
  elseif(NOT err STREQUAL "")
    message(FATAL_ERROR "${MODEL}: unexpected output on stderr:\n${err}\n${bless_hint}")
  endif()
else()
  read_expected(${EXPECTED} expected_err)
  if(NOT err STREQUAL expected_err)
    report_mismatch("the diagnostics" ${EXPECTED} "${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "${MODEL}: unexpected output on stdout:\n${out}")
  endif()
endif()
