// Stage `elementwise`: its deck keys and cases (see elementwise.hpp for the kernel).
#include "stages/elementwise/elementwise.hpp"

#include <limits>

#include "core/stage.hpp"

namespace klab::stages {

namespace {

// The case of N elements on one space: A and B generated there; variants `kernel` and, with
// transfers, `kernel+transfers`. The setup's copies of A and B to the host are its transfer_s.
template <class ExecSpace>
CaseSetup setup_elementwise(const ExecSpace& space, std::int64_t n, std::uint64_t seed, bool include_transfers) {
  Vector<ExecSpace> a("elementwise::a", n), b("elementwise::b", n), c("elementwise::c", n);
  fill_uniform(space, a, seed, elementwise_stream_a, 0.0, 1.0);
  fill_uniform(space, b, seed, elementwise_stream_b, 0.0, 1.0);
  using HostStaging = typename SpaceTraits<ExecSpace>::host_staging_space;
  auto host_a = Kokkos::create_mirror_view(HostStaging(), a);
  auto host_b = Kokkos::create_mirror_view(HostStaging(), b);
  auto host_c = Kokkos::create_mirror_view(HostStaging(), c);
  CaseSetup setup;
  const double transfer_s = time_once(space, [&] {
    Kokkos::deep_copy(space, host_a, a);
    Kokkos::deep_copy(space, host_b, b);
  });
  if (SpaceTraits<ExecSpace>::is_device) setup.transfer_s = transfer_s;

  const auto variant = [=](bool with_transfers) {
    VariantRun run;
    run.start = [=] { Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN()); };
    run.body = [=] {
      if (with_transfers) {
        Kokkos::deep_copy(space, a, host_a);
        Kokkos::deep_copy(space, b, host_b);
      }
      add_vectors(space, a, b, c);
      if (with_transfers) Kokkos::deep_copy(space, host_c, c);
    };
    run.check = [=] {
      Kokkos::deep_copy(host_c, c);
      // Addition is exactly rounded in IEEE arithmetic on every space: any difference is a bug.
      Check check{"max relative error vs host a+b", elementwise_error(host_c, seed),
                  std::numeric_limits<double>::epsilon(), "", {}, {}, {}};
      if (with_transfers)
        check.notes.emplace_back("transfers", SpaceTraits<ExecSpace>::is_device
                                                  ? "A, B host to device and C device to host (pinned host "
                                                    "memory), inside the timing"
                                                  : "none: host memory is used in place");
      return check;
    };
    return run;
  };
  setup.variants.push_back(variant(false));
  if (include_transfers) setup.variants.push_back(variant(true));
  return setup;
}

}  // namespace

StageDefinition elementwise_stage() {
  return {"elementwise", "C = A + B over N doubles (bandwidth-bound)", "",
          [](ParamReader& reader, const StageSettings& settings) {
            const auto sizes = reader.integer_list("sizes", std::nullopt, {1, 10'000'000'000});
            const bool include_transfers = reader.boolean("include_transfers", false);
            std::vector<Case> cases;
            for (const std::int64_t n : sizes) {
              const Work work{elementwise_bytes(n), static_cast<double>(n)};
              Case c;
              c.label = "N=" + std::to_string(n);
              c.size_name = "N";
              c.size = static_cast<double>(n);
              c.memory_bytes = elementwise_bytes(n);
              c.sampling = settings.repetitions();
              c.variants = {{"kernel", work}};
              if (include_transfers) c.variants.push_back({"kernel+transfers", work});
              c.setup = on_every_space([n, seed = settings.seed, include_transfers](const auto& space,
                                                                                    const CaseContext&) {
                return setup_elementwise(space, n, seed, include_transfers);
              });
              cases.push_back(std::move(c));
            }
            return cases;
          }};
}

}  // namespace klab::stages
