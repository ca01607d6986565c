// The communicator's collectives, on however many ranks the test runs (ctest runs it plain and
// under mpirun -np 2 and 3): each rank contributes values that depend on its rank, and every rank
// checks the combined result it gets against the formula for all of them.
#include <gtest/gtest.h>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <vector>

#include "core/comm.hpp"
#include "core/comm_views.hpp"
#include "test_spaces.hpp"

namespace {

using klab::Communicator;

TEST(Communicator, SharesCoverTheItemsInRankOrder) {
  const Communicator comm = Communicator::world();
  for (const std::int64_t n : {0, 1, 2, 7, 1000}) {
    const auto mine = comm.share(n);
    std::vector<double> bounds{static_cast<double>(mine.first), static_cast<double>(mine.second)};
    const std::vector<double> all = comm.gather(bounds.data(), bounds.size());
    ASSERT_EQ(all.size(), 2u * static_cast<std::size_t>(comm.size()));
    EXPECT_EQ(all.front(), 0);
    EXPECT_EQ(all.back(), n);
    for (std::size_t r = 0; r + 1 < static_cast<std::size_t>(comm.size()); ++r) {
      EXPECT_EQ(all[2 * r + 1], all[2 * r + 2]);                  // contiguous
      EXPECT_LE(all[2 * r + 1] - all[2 * r], all[2 * r + 3] - all[2 * r + 2] + 1);  // sizes differ by one at most
      EXPECT_GE(all[2 * r + 1] - all[2 * r], all[2 * r + 3] - all[2 * r + 2]);
    }
  }
}

TEST(Communicator, ReducesElementWise) {
  const Communicator comm = Communicator::world();
  const double r = comm.rank(), size = comm.size();
  std::vector<double> sums{r, 1.0, -2.0 * r}, maxima{r, -r}, minima{r, -r};
  comm.sum(sums);
  comm.max(maxima);
  comm.min(minima);
  const double rank_sum = size * (size - 1) / 2;
  EXPECT_EQ(sums, (std::vector<double>{rank_sum, size, -2.0 * rank_sum}));
  EXPECT_EQ(maxima, (std::vector<double>{size - 1, 0.0}));
  EXPECT_EQ(minima, (std::vector<double>{0.0, 1.0 - size}));
  EXPECT_EQ(comm.sum(1.0), size);
  EXPECT_EQ(comm.max(r), size - 1);
}

TEST(Communicator, GathersUnevenCountsInRankOrder) {
  const Communicator comm = Communicator::world();
  // Rank r sends r + 1 values r, r + 0.5, r + 1, ...
  std::vector<double> mine;
  for (int i = 0; i <= comm.rank(); ++i) mine.push_back(comm.rank() + 0.5 * i);
  const std::vector<double> all = comm.gather(mine.data(), mine.size());
  std::vector<double> expected;
  for (int r = 0; r < comm.size(); ++r)
    for (int i = 0; i <= r; ++i) expected.push_back(r + 0.5 * i);
  EXPECT_EQ(all, expected);
}

TEST(Communicator, BroadcastsRankZerosText) {
  const Communicator comm = Communicator::world();
  std::string text = comm.root() ? "from rank 0" : "something else, longer than rank 0's";
  int value = comm.rank() + 5;
  comm.broadcast(text);
  comm.broadcast(value);
  EXPECT_EQ(text, "from rank 0");
  EXPECT_EQ(value, 5);
}

TEST(Communicator, CountsTheTimeOfCollectivesOnMoreThanOneRank) {
  const Communicator comm = Communicator::world();
  const double before = comm.communication_s();
  const Communicator copy = comm;
  copy.barrier();
  if (comm.size() == 1)
    EXPECT_EQ(comm.communication_s(), before);  // one rank makes no MPI call
  else
    EXPECT_GT(comm.communication_s(), before);
}

template <class ExecSpace>
class SumOverRanks : public ::testing::Test {};
TYPED_TEST_SUITE(SumOverRanks, klab::testing::CompiledSpaces);

TYPED_TEST(SumOverRanks, SumsAMatrixOnTheSpaceInPlace) {
  using ExecSpace = TypeParam;
  const Communicator comm = Communicator::world();
  const int rows = 37, cols = 5;
  Kokkos::View<double**, Kokkos::LayoutLeft, typename ExecSpace::memory_space> m("m", rows, cols);
  auto host = Kokkos::create_mirror_view(m);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) host(i, j) = (comm.rank() + 1) * (i + 100.0 * j);
  Kokkos::deep_copy(m, host);
  klab::sum_over_ranks(comm, ExecSpace(), m);
  Kokkos::deep_copy(host, m);
  const double factor = comm.size() * (comm.size() + 1) / 2.0;  // 1 + 2 + ... + size
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) ASSERT_EQ(host(i, j), factor * (i + 100.0 * j)) << i << ", " << j;
}

}  // namespace
