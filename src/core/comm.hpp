#pragma once
// The ranks a run is spread over. Under an MPI launcher (mpirun -np R klab run DECK) klab is one
// process per rank, each on its own device; a plain `klab run` is one rank and makes no MPI call
// (nor does a build without MPI). MPI's collectives work on host memory: Debian's Open MPI is not
// CUDA-aware. A CUDA build with NCCL can also sum device memory in place (use_nccl). The seconds
// spent in collectives are counted, for the records.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace klab {

class Communicator {
 public:
  Communicator() = default;  // one rank, no MPI
  // Every rank of the MPI job when MpiSession started MPI, else one rank.
  static Communicator world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }

  // Element-wise over the ranks, in place; every rank gets the result.
  void max(std::vector<double>& values) const;
  void min(std::vector<double>& values) const;
  void sum(double* values, std::size_t count) const;
  void sum(std::vector<double>& values) const { sum(values.data(), values.size()); }
  double max(double value) const;
  double sum(double value) const;
  // Every rank's `count` values (the count may differ by rank), one after the other in rank order.
  std::vector<double> gather(const double* values, std::size_t count) const;
  // Rank 0's value, on every rank.
  void broadcast(std::string& text) const;
  void broadcast(int& value) const;
  void barrier() const;
  // Ends every rank of the job (MPI_Abort) after printing `why` to stderr: what a rank does when
  // it cannot go on in step with the others, which would otherwise wait for it in a collective.
  [[noreturn]] void abort(const std::string& why) const;

  // After a step every rank takes (a case's setup, a variant), whether one of them failed: every
  // rank passes its own failure (empty: none) and gets the lowest failed rank's, prefixed "rank
  // K: ", or empty. On a channel of its own, apart from the stages' collectives: a rank that failed
  // waits at most `wait_s` for the others, which may be stuck in a collective it left, and ends
  // the job (abort) if they do not come; the others wait as long as it takes.
  std::string agree_on_failure(const std::string& failure, double wait_s = 60) const;

  // The first `count` ranks as a communicator of their own, on those ranks; nullopt on the others.
  // Collective: every rank calls it. A scaling study runs a case on the first 1, 2, ... ranks.
  std::optional<Communicator> first(int count) const;

  // This rank's contiguous share [begin, end) of n items: blocks whose sizes differ by one at most,
  // in rank order, so that the global index of an item is the same for every rank count.
  std::pair<std::int64_t, std::int64_t> share(std::int64_t n) const;

  // Seconds this rank has spent in collectives so far, through this communicator or a copy of it;
  // the GPU's share is counted once the work queued before the call is done (after a fence).
  double communication_s() const;
  // Starts NCCL on these ranks (collective; after Kokkos, each rank on its GPU): sum_on_device then
  // works, and communicators from first() have it too. Throws where NCCL is not compiled in.
  void use_nccl();
  bool on_device() const { return nccl_ != nullptr; }
  // Sums `count` doubles of device memory over the ranks in place, queued in order on the CUDA
  // stream `stream` (cudaStream_t): the host does not wait, and the kernels after it on the
  // stream see the sums. Its time on the GPU counts once the stream has reached it (see
  // communication_s). Needs use_nccl().
  void sum_on_device(double* values, std::size_t count, void* stream) const;
  // "NCCL on device memory" or "MPI through host memory": what sum_over_ranks does on a GPU.
  std::string collectives() const;

 private:
  friend class CommunicationScope;
  enum class Op { max, min, sum };
  void reduce(double* values, std::size_t count, Op op) const;
  int rank_ = 0, size_ = 1;
  int handle_ = 0;  // the MPI communicator as MPI_Comm_c2f gives it: mpi.h stays in comm.cpp
  int control_ = 0;  // a duplicate of it for agree_on_failure
  std::shared_ptr<void> nccl_;  // the ncclComm_t, destroyed with its last copy; null: none
  std::shared_ptr<double> communication_s_ = std::make_shared<double>(0.0);
  // The CUDA events around sums queued on a GPU, not yet counted (cudaEvent_t pairs).
  std::shared_ptr<std::vector<std::pair<void*, void*>>> timed_on_device_ =
      std::make_shared<std::vector<std::pair<void*, void*>>>();
};

// Counts the seconds it lives as `comm`'s communication, less what collectives within it counted
// already: one collective, or a collective with the work done for it outside the communicator
// (copies of device memory through the host, core/comm_views.hpp).
class CommunicationScope {
 public:
  explicit CommunicationScope(const Communicator& comm)
      : total_(comm.communication_s_), counted_before_(*total_), start_(std::chrono::steady_clock::now()) {}
  ~CommunicationScope() {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    *total_ = counted_before_ + elapsed;
  }
  CommunicationScope(const CommunicationScope&) = delete;
  CommunicationScope& operator=(const CommunicationScope&) = delete;

 private:
  std::shared_ptr<double> total_;
  double counted_before_;
  std::chrono::steady_clock::time_point start_;
};

// What carries data between ranks in this build, e.g. "MPI (Open MPI v4.1.4), collectives
// through host memory; 2 ranks in this run", or that there is no MPI.
std::string communication_paths();
// Whether this build can sum device memory through NCCL (Communicator::use_nccl).
bool nccl_compiled();

// Starts MPI when klab was started by an MPI launcher and built with MPI (MPI_Init), and ends it
// (MPI_Finalize) when destroyed; otherwise does nothing.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  // Whether this process was started by an MPI launcher (its environment says so), and how many
  // ranks it started (1 when none).
  static bool launched();
  static int launched_ranks();
  // This rank's index among the ranks on its node, and their number.
  static int local_rank();
  static int local_size();
  // Gives this rank, before Kokkos starts, its GPU (KOKKOS_DEVICE_ID = local rank modulo the
  // visible GPUs) unless `device_chosen`, and, unless the launcher bound it to fewer CPUs, its
  // slice of the node's cores (its affinity, and KOKKOS_NUM_THREADS unless `threads_chosen`).
  // Needs no MPI: it runs before OpenMP binds the initial thread (OMP_PROC_BIND), which would hide
  // how the launcher placed the process.
  static void assign_node_resources(bool threads_chosen, bool device_chosen);

 private:
  bool started_ = false;
};

}  // namespace klab
