# Cross-compiling for 64-bit Arm Linux with Debian's GNU cross compiler
# (package g++-aarch64-linux-gnu). CTest runs the programs it builds under
# qemu-user (package qemu-user), which finds the target's C and C++ runtime in
# Debian's cross sysroot through -L. Used by the aarch64 preset:
#   cmake --workflow --preset aarch64
# Override SMAX_AARCH64_SYSROOT for another layout, or CMAKE_CXX_COMPILER for
# another compiler (clang++ --target=aarch64-linux-gnu finds the same sysroot).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(SMAX_AARCH64_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "The AArch64 libraries qemu-aarch64 runs the tests with")
if(NOT CMAKE_CXX_COMPILER)
  set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
endif()

set(CMAKE_FIND_ROOT_PATH ${SMAX_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # tools run on the build machine
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# Packages are looked up in the sysroot first, then on the build machine: a
# header-only package such as Debian's Catch2 2.x serves every architecture,
# and Debian installs no AArch64 copy of it.
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${SMAX_AARCH64_SYSROOT})
