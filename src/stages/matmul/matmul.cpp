// Stage `matmul`: its deck keys and cases (see matmul.hpp for the kernels and checks).
#include "stages/matmul/matmul.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/stage.hpp"

namespace klab::stages {

namespace {

bool lists(const std::vector<MatmulVariant>& variants, MatmulVariant variant) {
  return std::find(variants.begin(), variants.end(), variant) != variants.end();
}

// The variants that run for a shape: the deck's, but zip-reduce only within its memory limit.
std::vector<MatmulVariant> variants_for(const MatmulShape& shape, const std::vector<MatmulVariant>& listed) {
  std::vector<MatmulVariant> out;
  for (const MatmulVariant variant : listed)
    if (variant != MatmulVariant::zip_reduce || shape.products() <= zip_reduce_max_products) out.push_back(variant);
  return out;
}

// The case of one shape on one space: A and B generated there and the KokkosBlas::gemm reference
// computed from them and checked on the host, where copying A, B and the reference is the
// setup's transfer_s. A reference beyond its tolerance fails the case. Each variant writes into C
// poisoned with NaN and is compared with the reference. On several ranks each holds its share of
// A's and C's rows (the whole matrices' numbers) and all of B.
template <class ExecSpace>
CaseSetup setup_matmul(const ExecSpace& space, const MatmulShape& shape, const std::vector<MatmulVariant>& variants,
                       const TileShape& tile, std::uint64_t seed, const Communicator& comm) {
  const std::pair<std::int64_t, std::int64_t> rows = comm.share(shape.m);
  const MatmulShape local{rows.second - rows.first, shape.k, shape.n};
  // Planned before anything is allocated: a tile the space cannot launch fails the case at once. A
  // rank without rows (more ranks than rows) plans as for one and launches no team.
  const TiledLaunch tiled =
      lists(variants, MatmulVariant::tiled)
          ? plan_tiled_variant<ExecSpace>(tile, MatmulShape{std::max<std::int64_t>(local.m, 1), local.k, local.n})
          : TiledLaunch{};
  SpaceMatrix<ExecSpace> a("matmul::a", local.m, shape.k), b("matmul::b", shape.k, shape.n);
  SpaceMatrix<ExecSpace> c("matmul::c", local.m, shape.n), reference("matmul::reference", local.m, shape.n);
  fill_uniform(space, a, seed, matmul_stream_a, 0.0, 1.0, rows.first, shape.m);
  fill_uniform(space, b, seed, matmul_stream_b, 0.0, 1.0);
  compat::gemm(space, "N", "N", 1.0, a, b, 0.0, reference);

  CaseSetup setup;
  HostMatrix host_a, host_b, host_reference;
  const double transfer_s = time_once(space, [&] {
    host_a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
    host_b = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
    host_reference = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), reference);
  });
  if (SpaceTraits<ExecSpace>::is_device) setup.transfer_s = transfer_s;
  ProductCheck reference_check = check_product(host_a, host_b, host_reference, seed, shape.m);
  reference_check.parts = reference_check.parts.summed(comm);
  std::ostringstream reference_note;
  reference_note << "KokkosBlas::gemm; " << reference_check.method << ": " << reference_check.error() << " (tolerance "
                 << reference_check.tolerance << ")";
  if (!(reference_check.error() <= reference_check.tolerance))
    throw std::runtime_error("the reference " + reference_note.str());

  const double tolerance = 2.0 * static_cast<double>(shape.k) * std::numeric_limits<double>::epsilon();
  for (const MatmulVariant variant : variants) {
    const bool zip_reduce = variant == MatmulVariant::zip_reduce;
    // Allocated before the timing: the zip-reduce cost shown is the memory traffic, not malloc.
    const Products<ExecSpace> products =
        zip_reduce ? Products<ExecSpace>("matmul::products", local.m, local.k, local.n) : Products<ExecSpace>();
    VariantRun run;
    run.start = [c] { Kokkos::deep_copy(c, std::numeric_limits<double>::quiet_NaN()); };
    run.body = [=] { multiply(space, variant, a, b, c, tiled, products); };
    run.check = [=, note = reference_note.str()] {
      Check check{"relative Frobenius error vs KokkosBlas::gemm",
                  squared_error(space, c, reference).summed(comm).ratio(), tolerance, "", {{"reference", note}}, {}, {}};
      if (variant == MatmulVariant::kokkos_kernels) check.notes.emplace_back("gemm_path", gemm_path<ExecSpace>());
      if (variant == MatmulVariant::tiled) check.notes.emplace_back("tiling", tiled.describe());
      if (zip_reduce)
        check.notes.emplace_back("products", std::to_string(shape.products()) + " doubles (" +
                                                 std::to_string(shape.products() * 8 / (1 << 20)) +
                                                 " MiB) written by the zip kernel, read by the reduce kernel");
      return check;
    };
    setup.variants.push_back(std::move(run));
  }
  return setup;
}

// The message for zip-reduce listed with a shape beyond its limit.
std::string beyond_zip_reduce_limit(const MatmulShape& shape) {
  return "zip-reduce materialises M*K*N = " + std::to_string(shape.products()) + " products, more than its limit of " +
         std::to_string(zip_reduce_max_products) +
         " (2^26, 512 MiB): use a smaller size or leave zip-reduce out of 'variants'";
}

// Reads the shapes: `sizes` (square N) and `shapes` (a list of {m, k, n}), at least one of them.
// Refuses zip-reduce, when listed, for a shape beyond its memory limit, at that shape's entry.
std::vector<MatmulShape> read_shapes(ParamReader& reader, bool zip_reduce_listed) {
  const Range<std::int64_t> extent{1, 1'000'000};
  const bool has_shapes = reader.has("shapes");
  if (!has_shapes && !reader.has("sizes")) reader.missing("sizes", "an integer or a list of integers, or 'shapes'");
  const auto refused = [&](const MatmulShape& shape) {
    return zip_reduce_listed && shape.products() > zip_reduce_max_products;
  };
  std::vector<MatmulShape> shapes;
  const std::vector<std::int64_t> sizes = reader.integer_list("sizes", std::vector<std::int64_t>{}, extent);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const MatmulShape square{sizes[i], sizes[i], sizes[i]};
    if (refused(square)) reader.fail_element("sizes", i, beyond_zip_reduce_limit(square));
    shapes.push_back(square);
  }
  if (!has_shapes) {
    reader.child("shapes");  // absent: asking for it keeps 'shapes' among the keys finish() suggests
    return shapes;
  }
  std::vector<ParamReader> entries = reader.mappings("shapes");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    ParamReader& entry = entries[i];
    MatmulShape shape;
    shape.m = entry.integer("m", std::nullopt, extent);
    shape.k = entry.integer("k", std::nullopt, extent);
    shape.n = entry.integer("n", std::nullopt, extent);
    entry.finish();
    if (refused(shape)) reader.fail_element("shapes", i, beyond_zip_reduce_limit(shape));
    shapes.push_back(shape);
  }
  return shapes;
}

// Reads `tile: {m, n, k}`: m and n multiples of the register block, each key optional. Refused
// when the tiled variant, the only one it shapes, does not run.
TileShape read_tile(ParamReader& reader, bool tiled_listed) {
  TileShape tile;
  auto section = reader.child("tile");
  if (!section) return tile;
  if (!tiled_listed) reader.fail("tile", "'tile' shapes the tiled variant only, which 'variants' leaves out");
  const auto multiple_of = [&](const char* key, int block) {
    const int value = static_cast<int>(section->integer(key, 0, {block, 128}));
    if (value % block != 0)
      section->fail(key, "expected a multiple of " + std::to_string(block) +
                             " (the register blocks of every space), got " + std::to_string(value));
    return value;
  };
  tile.m = multiple_of("m", tile_multiple.rows);
  tile.n = multiple_of("n", tile_multiple.cols);
  tile.k = static_cast<int>(section->integer("k", 0, {1, 1024}));
  section->finish();
  return tile;
}

}  // namespace

StageDefinition matmul_stage() {
  return {"matmul", "C = A·B, M×K times K×N doubles (compute-bound)", "",
          [](ParamReader& reader, const StageSettings& settings) {
            MatmulParams params;
            // `all` (the default) is every variant, zip-reduce only at the sizes where it fits; a
            // list names the variants to run, and zip-reduce listed beyond its limit is an error.
            std::vector<std::string> allowed = matmul_variant_names();
            allowed.push_back("all");
            const std::vector<std::string> names = reader.choice_list("variants", std::vector<std::string>{"all"}, allowed);
            const bool all = names == std::vector<std::string>{"all"};
            if (!all && std::count(names.begin(), names.end(), "all"))
              reader.fail("variants", "'all' stands alone: it means every variant");
            for (const std::string& name : all ? matmul_variant_names() : names)
              params.variants.push_back(variant_named(name));
            params.shapes = read_shapes(reader, !all && lists(params.variants, MatmulVariant::zip_reduce));
            params.tile = read_tile(reader, lists(params.variants, MatmulVariant::tiled));
            std::vector<Case> cases;
            for (MatmulShape shape : params.shapes) {
              shape.m = settings.split_extent(shape.m);  // the rows split over ranks
              const std::vector<MatmulVariant> variants = variants_for(shape, params.variants);
              Case c;
              c.label = case_label(shape);
              c.size_name = "N";
              c.size = shape.size();
              c.memory_bytes = matmul_bytes(shape, params.variants);
              c.replicated_bytes = 8.0 * static_cast<double>(shape.k) * static_cast<double>(shape.n);  // B
              c.sampling = settings.repetitions();
              for (const MatmulVariant variant : variants) c.variants.push_back({name_of(variant), matmul_work(shape)});
              c.same_result = true;
              c.distributed = true;
              c.setup = on_every_space([shape, variants, tile = params.tile, seed = settings.seed](
                                           const auto& space, const CaseContext& context) {
                return setup_matmul(space, shape, variants, tile, seed, context.comm);
              });
              cases.push_back(std::move(c));
            }
            return cases;
          }};
}

}  // namespace klab::stages
