# Runs the two-TU programs and checks that they all print the reference's
# digest: whichever TU's copy of smax's inline functions the linker kept, the
# results must be bitwise those of a program built without any -m flag.
#   REFERENCE  tu_plain alone
#   PROGRAMS   both TUs, linked in different orders
cmake_minimum_required(VERSION 3.16)

# Sets out_var to the program's "digest <isa> <hex>" lines.
function(digests_of program out_var)
  execute_process(COMMAND "${program}" RESULT_VARIABLE status OUTPUT_VARIABLE output)
  if(status EQUAL 77)
    # cmake -P cannot choose its exit code; the test matches this output with
    # SKIP_REGULAR_EXPRESSION instead.
    message(FATAL_ERROR "${output}")
  endif()
  string(REGEX MATCHALL "digest [a-z0-9]+ [0-9a-f]+" digests "${output}")
  if(NOT status EQUAL 0 OR NOT digests)
    message(FATAL_ERROR "${program} failed (${status}):\n${output}")
  endif()
  set(${out_var} "${digests}" PARENT_SCOPE)
endfunction()

digests_of("${REFERENCE}" reference)
message(STATUS "reference (tu_plain only): ${reference}")
set(failed OFF)
foreach(program IN LISTS PROGRAMS)
  digests_of("${program}" digests)
  get_filename_component(name "${program}" NAME)
  if(digests STREQUAL reference)
    message(STATUS "${name}: same")
    continue()
  endif()
  set(failed ON)
  foreach(line IN LISTS digests)
    if(NOT line IN_LIST reference)
      string(REGEX REPLACE "digest ([a-z0-9]+) .*" "\\1" isa "${line}")
      message(STATUS "${name}: the ${isa} path's results differ from the reference")
    endif()
  endforeach()
endforeach()
if(failed)
  message(FATAL_ERROR "smax's results depend on the -m flags of the TU whose copy of its inline functions the "
                      "linker kept")
endif()
