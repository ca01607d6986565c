# ctest kokkos_roots: how cmake/KlabDependencies.cmake picks Kokkos and Kokkos Kernels, on fake
# installs under WORK (a config file and a version file each, no libraries): KokkosKernels_ROOT
# defaults to Kokkos_ROOT; a Kokkos_ROOT given when a build folder is configured again replaces
# the Kokkos found before; a Kokkos Kernels of another major.minor than Kokkos stops the
# configure, naming both.
#   cmake -DSOURCE=<repo> -DWORK=<scratch folder> -P tests/cmake/dependencies_test.cmake
file(REMOVE_RECURSE "${WORK}")

# A fake install of `package` at `version` in `prefix`, with the imported target klab links.
function(fake_install prefix package version target)
  set(folder "${WORK}/${prefix}/lib/cmake/${package}")
  file(WRITE "${folder}/${package}Config.cmake"
       "set(${package}_VERSION ${version})\nif(NOT TARGET ${target})\n  add_library(${target} INTERFACE IMPORTED)\nendif()\n")
  file(WRITE "${folder}/${package}ConfigVersion.cmake"
       "set(PACKAGE_VERSION ${version})\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n")
endfunction()
fake_install(kokkos-4.6 Kokkos 4.6.01 Kokkos::kokkos)
fake_install(kokkos-4.6 KokkosKernels 4.6.02 Kokkos::kokkoskernels)
fake_install(kokkos-4.7 Kokkos 4.7.00 Kokkos::kokkos)
fake_install(kokkos-4.7 KokkosKernels 4.7.00 Kokkos::kokkoskernels)
fake_install(kernels-3.4 KokkosKernels 3.4.01 Kokkos::kokkoskernels)

# Configures the test project in WORK/build with `args`; fails unless the status is `expected`
# and the output holds each of the `wanted` texts (white space runs read as one space).
function(configure expected)
  cmake_parse_arguments(ARG "" "" "ARGS;WANTED" ${ARGN})
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=Kokkos_ROOT --unset=KokkosKernels_ROOT
                          ${CMAKE_COMMAND} -S "${SOURCE}/tests/cmake/dependencies" -B "${WORK}/build"
                          -DKLAB_CMAKE_DIR=${SOURCE}/cmake ${ARG_ARGS}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \n]+" " " text "${out}${err}")
  if(expected EQUAL 0 AND NOT status EQUAL 0 OR NOT expected EQUAL 0 AND status EQUAL 0)
    message(FATAL_ERROR "configure ${ARG_ARGS}: status ${status}, expected ${expected}:\n${out}${err}")
  endif()
  foreach(wanted IN LISTS ARG_WANTED)
    string(FIND "${text}" "${wanted}" at)
    if(at LESS 0)
      message(FATAL_ERROR "configure ${ARG_ARGS}: no '${wanted}' in:\n${text}")
    endif()
  endforeach()
endfunction()

configure(0 ARGS -DKokkos_ROOT=${WORK}/kokkos-4.6
          WANTED "Kokkos Kernels 4.6.02 from ${WORK}/kokkos-4.6/lib/cmake/KokkosKernels")
configure(0 ARGS -DKokkos_ROOT=${WORK}/kokkos-4.7
          WANTED "Kokkos_ROOT ${WORK}/kokkos-4.7 replaces ${WORK}/kokkos-4.6/lib/cmake/Kokkos"
                 "Kokkos 4.7.00 from ${WORK}/kokkos-4.7/lib/cmake/Kokkos"
                 "Kokkos Kernels 4.7.00 from ${WORK}/kokkos-4.7/lib/cmake/KokkosKernels")
file(REMOVE_RECURSE "${WORK}/build")
configure(1 ARGS -DKokkos_ROOT=${WORK}/kokkos-4.6 -DKokkosKernels_ROOT=${WORK}/kernels-3.4
          WANTED "Kokkos Kernels 3.4.01 (${WORK}/kernels-3.4/lib/cmake/KokkosKernels) does not go with Kokkos 4.6.01")
file(REMOVE_RECURSE "${WORK}")
message(STATUS "Kokkos_ROOT wins, KokkosKernels_ROOT follows it, mismatched releases stop the configure")
