#include "core/comm.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>

#ifdef KLAB_HAVE_MPI
#include <mpi.h>
#endif
#ifdef KOKKOS_ENABLE_CUDA
#include <cuda_runtime.h>
#endif
#ifdef KLAB_HAVE_NCCL
#include <nccl.h>
#endif

namespace klab {

namespace {

bool mpi_running() {
#ifdef KLAB_HAVE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
#else
  return false;
#endif
}

#ifdef KLAB_HAVE_MPI
// `text` as rank `root` has it, on every rank of `comm`.
void broadcast_text(std::string& text, int root, MPI_Comm comm) {
  unsigned long long length = text.size();
  MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, comm);
  text.resize(length);
  MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm);
}

// A duplicate of `comm` for the harness's agreements, made once per communicator (MPI_Comm_dup is
// collective): released by MPI_Finalize.
int control_channel(MPI_Comm comm) {
  static std::vector<std::pair<MPI_Comm, MPI_Comm>> made;
  for (const auto& [of, dup] : made)
    if (of == comm) return static_cast<int>(MPI_Comm_c2f(dup));
  MPI_Comm dup = MPI_COMM_NULL;
  MPI_Comm_dup(comm, &dup);
  made.emplace_back(comm, dup);
  return static_cast<int>(MPI_Comm_c2f(dup));
}
#endif

}  // namespace

Communicator Communicator::world() {
  Communicator comm;
#ifdef KLAB_HAVE_MPI
  if (mpi_running()) {
    MPI_Comm_rank(MPI_COMM_WORLD, &comm.rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &comm.size_);
    comm.handle_ = static_cast<int>(MPI_Comm_c2f(MPI_COMM_WORLD));
    comm.control_ = control_channel(MPI_COMM_WORLD);
  }
#endif
  return comm;
}

void Communicator::reduce([[maybe_unused]] double* values, [[maybe_unused]] std::size_t count,
                          [[maybe_unused]] Op op) const {
  if (size_ == 1) return;
#ifdef KLAB_HAVE_MPI
  const CommunicationScope counted(*this);
  const MPI_Op mpi_op = op == Op::max ? MPI_MAX : op == Op::min ? MPI_MIN : MPI_SUM;
  // MPI counts are int: large arrays go in pieces.
  constexpr std::size_t piece = std::size_t(1) << 30;
  for (std::size_t done = 0; done < count; done += piece)
    MPI_Allreduce(MPI_IN_PLACE, values + done, static_cast<int>(std::min(piece, count - done)), MPI_DOUBLE, mpi_op,
                  MPI_Comm_f2c(handle_));
#endif
}

void Communicator::max(std::vector<double>& values) const { reduce(values.data(), values.size(), Op::max); }
void Communicator::min(std::vector<double>& values) const { reduce(values.data(), values.size(), Op::min); }
void Communicator::sum(double* values, std::size_t count) const { reduce(values, count, Op::sum); }

double Communicator::max(double value) const {
  reduce(&value, 1, Op::max);
  return value;
}

double Communicator::sum(double value) const {
  reduce(&value, 1, Op::sum);
  return value;
}

std::vector<double> Communicator::gather(const double* values, std::size_t count) const {
  if (size_ == 1) return std::vector<double>(values, values + count);
  std::vector<double> all;
#ifdef KLAB_HAVE_MPI
  const CommunicationScope counted(*this);
  const MPI_Comm comm = MPI_Comm_f2c(handle_);
  int mine = static_cast<int>(count);
  std::vector<int> counts(static_cast<std::size_t>(size_)), offsets(static_cast<std::size_t>(size_));
  MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  std::size_t total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]);
  }
  all.resize(total);
  MPI_Allgatherv(values, mine, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, comm);
#endif
  return all;
}

void Communicator::broadcast([[maybe_unused]] std::string& text) const {
  if (size_ == 1) return;
#ifdef KLAB_HAVE_MPI
  const CommunicationScope counted(*this);
  broadcast_text(text, 0, MPI_Comm_f2c(handle_));
#endif
}

void Communicator::broadcast([[maybe_unused]] int& value) const {
  if (size_ == 1) return;
#ifdef KLAB_HAVE_MPI
  const CommunicationScope counted(*this);
  MPI_Bcast(&value, 1, MPI_INT, 0, MPI_Comm_f2c(handle_));
#endif
}

void Communicator::barrier() const {
  if (size_ == 1) return;
#ifdef KLAB_HAVE_MPI
  const CommunicationScope counted(*this);
  MPI_Barrier(MPI_Comm_f2c(handle_));
#endif
}

void Communicator::abort(const std::string& why) const {
  std::cerr << "klab: rank " << rank_ << " of " << size_ << ": " << why << "; ending every rank" << std::endl;
#ifdef KLAB_HAVE_MPI
  if (mpi_running()) MPI_Abort(MPI_Comm_f2c(handle_), 1);
#endif
  std::exit(1);
}

#ifdef KLAB_HAVE_NCCL
namespace {

// NCCL starts its threads from the calling thread, and they inherit its CPU mask: with OpenMP's
// binding the initial thread has one CPU, where NCCL's threads would take turns with it (whole
// scheduler time slices while a collective waits). For as long as it lives, the calling thread
// may run on every CPU of this process's threads, so theirs may too.
class EveryCpuOfTheProcess {
 public:
  EveryCpuOfTheProcess() {
    if (sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
    cpu_set_t all;
    CPU_ZERO(&all);
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
      cpu_set_t one;
      if (sched_getaffinity(std::atoi(task.path().filename().c_str()), sizeof one, &one) == 0) CPU_OR(&all, &all, &one);
    }
    widened_ = sched_setaffinity(0, sizeof all, &all) == 0;
  }
  ~EveryCpuOfTheProcess() {
    if (widened_) sched_setaffinity(0, sizeof saved_, &saved_);
  }
  EveryCpuOfTheProcess(const EveryCpuOfTheProcess&) = delete;
  EveryCpuOfTheProcess& operator=(const EveryCpuOfTheProcess&) = delete;

 private:
  cpu_set_t saved_;
  bool widened_ = false;
};

void check_nccl(ncclResult_t result, const char* what) {
  if (result != ncclSuccess) throw std::runtime_error(std::string(what) + ": " + ncclGetErrorString(result));
}

std::shared_ptr<void> owned_nccl(ncclComm_t comm) {
  return std::shared_ptr<void>(comm, [](void* c) { ncclCommDestroy(static_cast<ncclComm_t>(c)); });
}

}  // namespace
#endif

std::optional<Communicator> Communicator::first(int count) const {
  if (count >= size_) return *this;
  std::optional<Communicator> group;
#ifdef KLAB_HAVE_MPI
  const CommunicationScope counted(*this);
  const bool member = rank_ < count;
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_Comm_split(MPI_Comm_f2c(handle_), member ? 0 : MPI_UNDEFINED, rank_, &sub);
#ifdef KLAB_HAVE_NCCL
  std::shared_ptr<void> nccl;
  if (nccl_) {  // collective over the parent's ranks as well
    const EveryCpuOfTheProcess cpus;
    ncclComm_t split = nullptr;
    check_nccl(ncclCommSplit(static_cast<ncclComm_t>(nccl_.get()), member ? 0 : NCCL_SPLIT_NOCOLOR, rank_, &split,
                             nullptr),
               "ncclCommSplit");
    if (split) nccl = owned_nccl(split);
  }
#endif
  if (sub == MPI_COMM_NULL) return group;  // a handful per run, released by MPI_Finalize
  group.emplace();
  MPI_Comm_rank(sub, &group->rank_);
  MPI_Comm_size(sub, &group->size_);
  group->handle_ = static_cast<int>(MPI_Comm_c2f(sub));
  group->control_ = control_channel(sub);
#ifdef KLAB_HAVE_NCCL
  group->nccl_ = nccl;
#endif
#endif
  return group;
}

bool nccl_compiled() {
#ifdef KLAB_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

void Communicator::use_nccl() {
#ifdef KLAB_HAVE_NCCL
  if (nccl_) return;
  ncclUniqueId id;
  if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  if (size_ > 1) MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, MPI_Comm_f2c(handle_));
  ncclComm_t comm = nullptr;
  const EveryCpuOfTheProcess cpus;
  check_nccl(ncclCommInitRank(&comm, size_, id, rank_), "ncclCommInitRank");
  nccl_ = owned_nccl(comm);
#else
  throw std::runtime_error("NCCL is not compiled into this build");
#endif
}

void Communicator::sum_on_device([[maybe_unused]] double* values, [[maybe_unused]] std::size_t count,
                                 [[maybe_unused]] void* stream) const {
#ifdef KLAB_HAVE_NCCL
  if (!nccl_) throw std::logic_error("sum_on_device without use_nccl");
  // Timed by events on the stream, so that the host need not wait: the kernels of the next step
  // queue behind the sum.
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  cudaEvent_t start = nullptr, stop = nullptr;
  if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess)
    throw std::runtime_error("cudaEventCreate failed");
  timed_on_device_->emplace_back(start, stop);
  cudaEventRecord(start, cuda_stream);
  check_nccl(ncclAllReduce(values, values, count, ncclDouble, ncclSum, static_cast<ncclComm_t>(nccl_.get()), cuda_stream),
             "ncclAllReduce");
  cudaEventRecord(stop, cuda_stream);
#else
  throw std::logic_error("NCCL is not compiled into this build");
#endif
}

double Communicator::communication_s() const {
#ifdef KLAB_HAVE_NCCL
  for (const auto& [start, stop] : *timed_on_device_) {
    float milliseconds = 0;
    if (cudaEventSynchronize(static_cast<cudaEvent_t>(stop)) == cudaSuccess &&
        cudaEventElapsedTime(&milliseconds, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)) == cudaSuccess)
      *communication_s_ += 1e-3 * milliseconds;
    cudaEventDestroy(static_cast<cudaEvent_t>(start));
    cudaEventDestroy(static_cast<cudaEvent_t>(stop));
  }
  timed_on_device_->clear();
#endif
  return *communication_s_;
}

std::string Communicator::collectives() const {
  return nccl_ ? "NCCL on device memory" : "MPI through host memory";
}

std::string Communicator::agree_on_failure(const std::string& failure, [[maybe_unused]] double wait_s) const {
  if (size_ == 1) return failure;
  std::string agreed;
#ifdef KLAB_HAVE_MPI
  const MPI_Comm control = MPI_Comm_f2c(control_);
  // The lowest failed rank, or size_ for none.
  int mine = failure.empty() ? size_ : rank_, lowest = size_;
  MPI_Request request = MPI_REQUEST_NULL;
  MPI_Iallreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, control, &request);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
  for (int done = 0;;) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) break;
    if (!failure.empty() && std::chrono::steady_clock::now() > deadline)
      abort(failure + " (the other ranks did not come to agree on it within " + std::to_string(int(wait_s)) + " s)");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (lowest == size_) return agreed;
  agreed = lowest == rank_ ? failure : std::string();
  broadcast_text(agreed, lowest, control);
  agreed = "rank " + std::to_string(lowest) + ": " + agreed;
#endif
  return agreed;
}

std::pair<std::int64_t, std::int64_t> Communicator::share(std::int64_t n) const {
  const std::int64_t base = n / size_, extra = n % size_;
  const std::int64_t begin = rank_ * base + std::min<std::int64_t>(rank_, extra);
  return {begin, begin + base + (rank_ < extra ? 1 : 0)};
}

std::string communication_paths() {
#ifdef KLAB_HAVE_MPI
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string library(version, static_cast<std::size_t>(length));
  library = library.substr(0, library.find_first_of(",\n"));
  const Communicator world = Communicator::world();
  return "MPI (" + library + "), collectives through host memory" +
         (nccl_compiled() ? std::string(" or NCCL on device memory (run.collectives: nccl)") : std::string()) + "; " +
         std::to_string(world.size()) + (world.size() == 1 ? " rank" : " ranks") + " in this run";
#else
  return "one (built without MPI)";
#endif
}

bool MpiSession::launched() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"})
    if (std::getenv(variable)) return true;
  return false;
}

int MpiSession::launched_ranks() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* value = std::getenv(variable)) return std::max(1, std::atoi(value));
  return 1;
}

int MpiSession::local_rank() {
  for (const char* variable : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* value = std::getenv(variable)) return std::atoi(value);
  return 0;
}

int MpiSession::local_size() {
  for (const char* variable : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_TASKS_PER_NODE"})
    if (const char* value = std::getenv(variable)) return std::max(1, std::atoi(value));
  return 1;
}

void MpiSession::assign_node_resources(bool threads_chosen, bool device_chosen) {
#ifdef KOKKOS_ENABLE_CUDA
  int devices = 0;
  if (!device_chosen && cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0)
    setenv("KOKKOS_DEVICE_ID", std::to_string(local_rank() % devices).c_str(), 1);
#else
  (void)device_chosen;
#endif
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  const int cpus = CPU_COUNT(&allowed);
  if (cpus < sysconf(_SC_NPROCESSORS_ONLN)) return;  // the launcher bound this rank to its share
  // Each rank on a slice of its own of the node's CPUs, its threads (started later by Kokkos)
  // with it: ranks whose threads meet on one core take turns by the scheduler's time slice, and a
  // rank waiting for a message (MPI, NCCL) polls.
  std::vector<int> ids;
  for (int id = 0; id < CPU_SETSIZE; ++id)
    if (CPU_ISSET(id, &allowed)) ids.push_back(id);
  const int ranks = local_size(), per_rank = std::max(1, cpus / ranks);
  const int first = static_cast<int>(static_cast<long long>(local_rank() % ranks) * cpus / ranks);
  cpu_set_t mine;
  CPU_ZERO(&mine);
  for (int i = 0; i < per_rank; ++i) CPU_SET(ids[static_cast<std::size_t>((first + i) % cpus)], &mine);
  sched_setaffinity(0, sizeof mine, &mine);
  if (!threads_chosen) setenv("KOKKOS_NUM_THREADS", std::to_string(per_rank).c_str(), 1);
}

MpiSession::MpiSession([[maybe_unused]] int& argc, [[maybe_unused]] char**& argv) {
#ifdef KLAB_HAVE_MPI
  if (!launched() || mpi_running()) return;
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  started_ = true;
#endif
}

MpiSession::~MpiSession() {
#ifdef KLAB_HAVE_MPI
  if (started_ && mpi_running()) MPI_Finalize();
#endif
}

}  // namespace klab
