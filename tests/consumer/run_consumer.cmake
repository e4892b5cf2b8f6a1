# Builds and runs one consumer project; run with cmake -P from a CTest test.
#
#   MODE                  find_package: install this build tree into a scratch
#                         prefix first and let the consumer find it there.
#                         add_subdirectory: the consumer adds SMAX_SOURCE_DIR.
#   SMAX_SOURCE_DIR, SMAX_BINARY_DIR    the smax tree under test
#   CONSUMER_SOURCE_DIR   the consumer project
#   SCRATCH_DIR           emptied, then holds the prefix and the consumer build
#   CONSUMER_GENERATOR, CONSUMER_MAKE_PROGRAM, CONSUMER_CXX_COMPILER,
#   CONSUMER_CONFIG       the outer build's, so the consumer builds the same way
cmake_minimum_required(VERSION 3.16)

foreach(var MODE SMAX_SOURCE_DIR SMAX_BINARY_DIR CONSUMER_SOURCE_DIR SCRATCH_DIR CONSUMER_GENERATOR
            CONSUMER_CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT MODE MATCHES "^(find_package|add_subdirectory)$")
  message(FATAL_ERROR "run_consumer.cmake: MODE=${MODE} is neither find_package nor add_subdirectory")
endif()
# $<CONFIG> is empty for single-config generators without a build type.
if("${CONSUMER_CONFIG}" STREQUAL "")
  set(CONSUMER_CONFIG Release)
endif()

function(run_step what)
  string(JOIN " " command ${ARGN})
  message(STATUS "${what}: ${command}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} failed (${status})")
  endif()
endfunction()

# A leftover prefix from an earlier run could hide a file the install rules
# no longer install.
file(REMOVE_RECURSE "${SCRATCH_DIR}")
file(MAKE_DIRECTORY "${SCRATCH_DIR}")

# Everything but the build directory, which differs per configure below.
set(configure_args -S "${CONSUMER_SOURCE_DIR}" -G "${CONSUMER_GENERATOR}" "-DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}"
                   "-DCMAKE_BUILD_TYPE=${CONSUMER_CONFIG}")
if(CONSUMER_MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${CONSUMER_MAKE_PROGRAM}")
endif()

if(MODE STREQUAL "find_package")
  set(prefix "${SCRATCH_DIR}/prefix")
  run_step("install smax" "${CMAKE_COMMAND}" --install "${SMAX_BINARY_DIR}" --prefix "${prefix}" --config
           "${CONSUMER_CONFIG}")

  # The private warnings target must never reach users.
  file(GLOB_RECURSE exported "${prefix}/*Targets*.cmake")
  if(NOT exported)
    message(FATAL_ERROR "no smaxTargets*.cmake under ${prefix}")
  endif()
  foreach(file IN LISTS exported)
    file(READ "${file}" text)
    if(text MATCHES "smax_warnings|-Wall|-Werror")
      message(FATAL_ERROR "${file} exports smax's private warning flags")
    endif()
  endforeach()

  # Only the scratch prefix may satisfy find_package: no package registry, no
  # system copy that an earlier `make install` may have left in /usr/local.
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${prefix}" "-DSMAX_EXPECTED_PREFIX=${prefix}"
       -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
       -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF -DCMAKE_FIND_USE_SYSTEM_ENVIRONMENT_PATH=OFF)

  # SameMinorVersion: while smax is 0.x, 0.1 must not satisfy a request for 0.2.
  message(STATUS "configure consumer asking for smax 0.2 (must fail)")
  execute_process(COMMAND "${CMAKE_COMMAND}" ${configure_args} -B "${SCRATCH_DIR}/build-0.2" -DSMAX_WANTED_VERSION=0.2
                  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(status EQUAL 0 OR NOT output MATCHES "smaxConfig.cmake, version: 0.1.0")
    message(FATAL_ERROR "find_package(smax 0.2) did not reject smax 0.1:\n${output}")
  endif()
else()
  list(APPEND configure_args "-DSMAX_SOURCE_DIR=${SMAX_SOURCE_DIR}")
endif()

run_step("configure consumer" "${CMAKE_COMMAND}" ${configure_args} -B "${SCRATCH_DIR}/build")
run_step("build consumer" "${CMAKE_COMMAND}" --build "${SCRATCH_DIR}/build" --config "${CONSUMER_CONFIG}")
set(ctest_args -C "${CONSUMER_CONFIG}" --output-on-failure)
if(NOT CMAKE_VERSION VERSION_LESS 3.17)
  list(APPEND ctest_args --no-tests=error)
endif()
string(JOIN " " command ${ctest_args})
message(STATUS "run consumer: ${CMAKE_CTEST_COMMAND} ${command}")
execute_process(COMMAND "${CMAKE_CTEST_COMMAND}" ${ctest_args} WORKING_DIRECTORY "${SCRATCH_DIR}/build"
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "run consumer failed (${status})")
endif()
