// GoogleTest main with Kokkos alive for the whole run; --kokkos-* arguments reach Kokkos. Under an
// MPI launcher MPI runs too (core/comm.hpp), so a test can use Communicator::world(). With
// KLAB_EXPECT_THREADS set (ctest's 1- and 3-thread reruns, which set KOKKOS_NUM_THREADS: an
// option both Kokkos 3.4 and 4.x honour), the run fails unless the host space got that many.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/comm.hpp"

int main(int argc, char* argv[]) {
  ::testing::InitGoogleTest(&argc, argv);
  // Listing the tests (ctest's discovery) needs no Kokkos, whose start-up warnings on stdout would
  // otherwise be read as the names of tests.
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();
  const klab::MpiSession mpi(argc, argv);
  Kokkos::ScopeGuard kokkos(argc, argv);
  if (const char* expected = std::getenv("KLAB_EXPECT_THREADS")) {
    const int got = Kokkos::DefaultHostExecutionSpace().concurrency();
    if (got != std::atoi(expected)) {
      std::cerr << "expected " << expected << " host threads (KLAB_EXPECT_THREADS), Kokkos started " << got << "\n";
      return 1;
    }
  }
  return RUN_ALL_TESTS();
}
