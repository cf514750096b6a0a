// mpi_main.cpp — liqsim-mpi: `liqsim sweep` with its points spread over MPI
// ranks (built with -Dmpi=enabled; compiled into liqsim-mpi only).
//
//   mpirun -np N liqsim-mpi sweep ARGS   (the arguments of `liqsim sweep`)
//
// Every rank parses the same command line and prepares the sweep itself
// (reads the configuration, decodes the log, checks every point), so only
// point indices and finished records cross the network. Rank 0 coordinates:
// it hands a point index to each other rank, and the next one to whichever
// rank returns a record; it runs the --at prefix itself while the first
// points run elsewhere, keeps records that arrive early until the points
// before them are in, and stores them in point order through the one
// SweepWriter (no other rank touches the database). So the database is the
// one `liqsim sweep --jobs 1` writes. With one rank, rank 0 runs every point.
//
// Rank 0 keeps at most a few records per other rank waiting for an earlier
// point (kWindowPerWorker), and waits for messages without spinning a core.
// Every rank ends with the same exit code, and no rank is left waiting on a
// message that will not come:
//   * after prepare, an all_gather of each rank's outcome: any failure (a
//     usage or input error, printed once, by rank 0 or else by the lowest
//     failing rank) ends every rank with its exit code before work starts;
//   * a point's error is sent back to rank 0 like a record; rank 0 then
//     hands out no more points, collects what is still running, stops every
//     rank and abandons the writer (nothing is written);
//   * at the end rank 0 broadcasts the exit code.
// An exception (out of memory, an MPI failure) calls MPI_Abort: mpirun then
// ends every rank.
#include <unistd.h>

#include <algorithm>
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "liqsim/error.hpp"
#include "liqsim/results.hpp"
#include "liqsim/sweep.hpp"
#include "options.hpp"
#include "replay_support.hpp"
#include "sweep_options.hpp"

namespace mpi = boost::mpi;

namespace {

// What a rank sends back for a point: its record, or the error that stopped it.
// The record's results image does not go through Boost.Serialization (which
// copies it twice more and costs ~4 ms per MB): it follows as raw bytes.
struct Reply {
  std::int64_t k = -1;  // the index into Sweep::points()
  bool ok = false;
  liqsim::PointRecord record;     // without its db_image
  std::uint64_t image_bytes = 0;  // the db_image's size: that many bytes follow, tagged kTagImage
  liqsim::Error error;
};

}  // namespace

// Laid out by hand: clang-format takes `ar & x` for a declaration (`ar& x`).
// clang-format off
namespace boost::serialization {

template <class Archive>
void serialize(Archive& ar, liqsim::PointRecord& r, unsigned /*version*/) {
  ar & r.point & r.values & r.summary_json & r.run_id;  // not db_image: see Reply
}

template <class Archive>
void serialize(Archive& ar, liqsim::Error& e, unsigned /*version*/) {
  int kind = static_cast<int>(e.kind);
  ar & kind & e.file & e.line & e.offset & e.seq & e.field & e.message;
  e.kind = static_cast<liqsim::ErrorKind>(kind);
}

template <class Archive>
void serialize(Archive& ar, Reply& r, unsigned /*version*/) {
  ar & r.k & r.ok & r.record & r.image_bytes & r.error;
}

}  // namespace boost::serialization
// clang-format on

namespace {

using liqsim::Error;
using liqsim::ErrorKind;
using liqsim::PointRecord;
using liqsim::Status;
using liqsim::Sweep;
using liqsim::SweepWriter;
using liqsim::cli::Args;
using liqsim::cli::SweepOptions;

constexpr int kTagWork = 1;   // rank 0 → worker: std::int64_t, a point index or kStop
constexpr int kTagReply = 2;  // worker → rank 0: Reply
constexpr int kTagImage = 3;  // worker → rank 0: the reply's db_image, in chunks of at most kChunk bytes
constexpr std::int64_t kStop = -1;
// Records held at rank 0 waiting for an earlier point, per worker rank: a
// point is handed out only within this window past the next one to store
// (bounds rank 0's memory when one point is much slower than the others).
constexpr std::int64_t kWindowPerWorker = 4;
// An MPI message's count is an int.
constexpr std::size_t kChunk = std::size_t{1} << 30;

// Waits for a message without spinning: Open MPI's blocking receive polls, so
// a rank waiting in it would take a core from the ranks running points (rank
// 0 waits most of the sweep, often on a node that runs points too). Polls at
// most every millisecond: nothing against points that take 0.1 s and more.
mpi::status wait_for(const mpi::communicator& world, int source, int tag) {
  for (int pause_us = 20;; pause_us = std::min(2 * pause_us, 1000)) {
    if (auto st = world.iprobe(source, tag)) return *st;
    ::usleep(static_cast<useconds_t>(pause_us));
  }
}

void send_bytes(const mpi::communicator& world, int dest, const std::string& bytes) {
  for (std::size_t at = 0; at < bytes.size(); at += kChunk)
    world.send(dest, kTagImage, bytes.data() + at, static_cast<int>(std::min(kChunk, bytes.size() - at)));
}

void receive_bytes(const mpi::communicator& world, int source, std::uint64_t size, std::string& bytes) {
  bytes.resize(size);
  for (std::size_t at = 0; at < bytes.size(); at += kChunk)
    world.recv(source, kTagImage, bytes.data() + at, static_cast<int>(std::min(kChunk, bytes.size() - at)));
}

const char* const kHelpPreamble =
    "Usage: mpirun [-np N] liqsim-mpi sweep (DIR | --config C --events E) --grid PATH=V1,V2,... --out "
    "R.sqlite\n"
    "       [--grid ...] [--grid-file G.json] [--zip] [--shard I/N] [--at SEQ] [--json] [--label NAME]\n"
    "       [--quiet|--progress]\n"
    "\n"
    "`liqsim sweep` over MPI ranks. Every rank reads the configuration and the\n"
    "log and checks every point; rank 0 hands the points out one at a time to the\n"
    "other ranks as they finish, runs the --at prefix itself, and alone writes\n"
    "the database, in point order: the same database as `liqsim sweep --jobs 1`.\n"
    "With -np 1 rank 0 runs every point. --jobs is refused: a rank runs one point\n"
    "at a time; choose the number of ranks with mpirun -np. --shard I/N still\n"
    "selects a shard of the points (one mpirun per shard). Exit codes are those\n"
    "of liqsim sweep (0 success, 2 usage, input or I/O error, 3 corrupt log), the\n"
    "same on every rank. As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 and\n"
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.\n"
    "\n"
    "The options, as `liqsim help sweep` gives them:\n"
    "\n";

// A rank's outcome before any point runs.
struct Prepared {
  int rc = 0;  // 0: ready; 2 or 3: failed (help: rc 0 and `done`)
  bool done = false;
  std::optional<Error> error;  // what to print
  bool not_sweep = false;      // the error is that the command is not `sweep`
  SweepOptions options;
  std::unique_ptr<Sweep> sweep;
};

Prepared prepare(const Args& args) {
  Prepared p;
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
    p.done = true;
    return p;
  }
  if (args.empty() || args[0] != "sweep") {
    p.rc = 2;
    p.not_sweep = true;
    p.error =
        liqsim::make_error(ErrorKind::usage, args.empty() ? "no command: liqsim-mpi runs only 'sweep'"
                                                          : "unknown command '" + liqsim::excerpt(args[0]) +
                                                                "': liqsim-mpi runs only 'sweep'");
    return p;
  }
  bool help = false;
  auto options = liqsim::cli::parse_sweep_options(args, help);
  if (help) {
    p.done = true;
    return p;
  }
  if (!options) {
    p.rc = options.error().exit_code();
    p.error = options.error();
    return p;
  }
  p.options = std::move(*options);
  if (p.options.jobs != 0) {  // --jobs K (K ≥ 1) was given
    p.rc = 2;
    p.error = liqsim::make_error(ErrorKind::usage,
                                 "--jobs is refused by liqsim-mpi, where each rank runs one point at a time "
                                 "(choose the number of ranks with mpirun -np)");
    return p;
  }
  auto sweep = Sweep::prepare(p.options.request);
  if (!sweep) {
    p.rc = sweep.error().exit_code();
    p.error = sweep.error();
    return p;
  }
  p.sweep = std::move(*sweep);
  return p;
}

// Rank 0's half of the sweep: every record of this shard, stored in point
// order. Returns the first error (the lowest point's, among those seen).
class Coordinator {
 public:
  Coordinator(const mpi::communicator& world, const Sweep& sweep, const SweepOptions& options,
              SweepWriter* writer)
      : world_(world),
        sweep_(sweep),
        writer_(writer),
        total_(static_cast<std::int64_t>(sweep.points().size())),
        progress_(total_, options.progress) {}

  Status run() {
    const int workers = world_.size() - 1;
    if (workers == 0) {
      run_here();
    } else {
      run_distributed(workers);
    }
    progress_.finish();
    if (failure_) return *failure_;
    return {};
  }
  // The points' records, in point order, their images released (the prefix is not one).
  std::vector<PointRecord>& stored() { return stored_; }

 private:
  void fail(const Error& e, std::int64_t k) {
    if (!failure_ || k < failure_k_) {
      failure_ = e;
      failure_k_ = k;
    }
  }

  // Stores a record: the writer (which releases its image), then the list printed at the end.
  void store(PointRecord& record, std::int64_t k) {
    if (writer_ != nullptr) {
      Status s = writer_->add(record);
      if (!s) {
        fail(s.error(), k);
        return;
      }
    }
    record.db_image = std::string();
    stored_.push_back(std::move(record));
  }

  void run_prefix() {
    if (!sweep_.has_prefix()) return;
    auto prefix = sweep_.run_prefix();
    if (!prefix) {
      fail(prefix.error(), -1);
      return;
    }
    store(*prefix, -1);
    if (!stored_.empty()) stored_.pop_back();  // stored, not one of the points printed
  }

  void run_here() {
    run_prefix();
    for (std::int64_t k = 0; k < total_ && !failure_; ++k) {
      auto record = sweep_.run_point(static_cast<std::size_t>(k));
      if (!record) {
        fail(record.error(), k);
        break;
      }
      store(*record, k);
      if (failure_) break;
      next_store_ = k + 1;
      progress_.update(next_store_);
    }
  }

  void run_distributed(int workers) {
    const std::int64_t window = kWindowPerWorker * workers;
    std::vector<int> idle;
    for (int r = workers; r >= 1; --r) idle.push_back(r);
    int busy = 0;
    auto hand_out = [&] {
      while (!failure_ && !idle.empty() && next_send_ < total_ && next_send_ < next_store_ + window) {
        world_.send(idle.back(), kTagWork, next_send_);
        ++next_send_;
        idle.pop_back();
        ++busy;
      }
    };
    hand_out();    // the first points run while
    run_prefix();  // rank 0 runs the prefix, which is stored first
    while (busy > 0) {
      Reply reply;
      mpi::status st = wait_for(world_, mpi::any_source, kTagReply);
      world_.recv(st.source(), kTagReply, reply);
      if (reply.ok) receive_bytes(world_, st.source(), reply.image_bytes, reply.record.db_image);
      --busy;
      idle.push_back(st.source());
      if (!reply.ok) {
        fail(reply.error, reply.k);
      } else if (!failure_) {
        pending_.emplace(reply.k, std::move(reply.record));
        for (auto it = pending_.find(next_store_); it != pending_.end(); it = pending_.find(next_store_)) {
          store(it->second, next_store_);
          pending_.erase(it);
          if (failure_) break;
          ++next_store_;
          progress_.update(next_store_);
        }
      }
      hand_out();
    }
    pending_.clear();
    for (int r = 1; r <= workers; ++r) world_.send(r, kTagWork, kStop);
  }

  const mpi::communicator& world_;
  const Sweep& sweep_;
  SweepWriter* writer_;
  std::int64_t total_;
  liqsim::cli::PointProgress progress_;
  std::int64_t next_send_ = 0, next_store_ = 0;
  std::map<std::int64_t, PointRecord> pending_;
  std::vector<PointRecord> stored_;
  std::optional<Error> failure_;
  std::int64_t failure_k_ = 0;
};

// A worker rank: runs the points rank 0 hands out until told to stop.
void work(const mpi::communicator& world, const Sweep& sweep) {
  for (;;) {
    std::int64_t k = kStop;
    wait_for(world, 0, kTagWork);
    world.recv(0, kTagWork, k);
    if (k == kStop) return;
    Reply reply;
    reply.k = k;
    auto record = sweep.run_point(static_cast<std::size_t>(k));
    if (!record) {
      reply.error = record.error();
      world.send(0, kTagReply, reply);
      continue;
    }
    reply.ok = true;
    reply.record = std::move(*record);
    std::string image = std::move(reply.record.db_image);
    reply.image_bytes = image.size();
    world.send(0, kTagReply, reply);
    send_bytes(world, 0, image);
  }
}

int run(const mpi::communicator& world, const Args& args) {
  const int rank = world.rank();
  Prepared p = prepare(args);

  // Everyone agrees on the outcome of prepare before any point runs.
  std::vector<int> outcomes;
  mpi::all_gather(world, p.done ? -1 : p.rc, outcomes);
  if (outcomes[0] == -1) {  // --help
    if (rank == 0) {
      std::fputs(kHelpPreamble, stdout);
      liqsim::cli::print_help("sweep");
    }
    return 0;
  }
  int failed_rank = -1;
  for (int r = 0; r < world.size() && failed_rank < 0; ++r)
    if (outcomes[static_cast<std::size_t>(r)] != 0) failed_rank = r;
  if (failed_rank >= 0) {
    // Rank 0 prints its own error; when it had none, the lowest failing rank
    // prints its own, naming itself (a file one node cannot read, say).
    if (rank == failed_rank && p.not_sweep) {
      std::fprintf(stderr, "liqsim-mpi: %s (see 'liqsim-mpi --help')\n", p.error->describe().c_str());
    } else if (rank == failed_rank && p.error) {
      if (rank == 0) return liqsim::cli::report_error("sweep", *p.error);
      std::fprintf(stderr, "liqsim: rank %d: %s\n", rank, p.error->describe().c_str());
    }
    return outcomes[static_cast<std::size_t>(failed_rank)] > 0
               ? outcomes[static_cast<std::size_t>(failed_rank)]
               : 2;
  }

  if (rank != 0) {
    work(world, *p.sweep);
    int rc = 0;
    mpi::broadcast(world, rc, 0);
    return rc;
  }

  // Rank 0: the one writer.
  const SweepOptions& o = p.options;
  std::unique_ptr<SweepWriter> writer;
  std::optional<Error> failure;
  if (!o.out.empty()) {
    liqsim::ResultsOptions ro;
    ro.busy_timeout_ms = o.busy_timeout_ms;
    auto opened = SweepWriter::open(o.out, p.sweep->record(), ro);
    if (opened) {
      writer = std::move(*opened);
    } else {
      failure = opened.error();
    }
  }
  Coordinator coordinator(world, *p.sweep, o, writer.get());
  if (failure) {
    for (int r = 1; r < world.size(); ++r) world.send(r, kTagWork, kStop);
  } else {
    Status s = coordinator.run();
    if (!s) failure = s.error();
  }
  std::int64_t sweep_id = 0;
  if (!failure && writer) {
    auto id = writer->finish(liqsim::cli::wall_clock_ms());
    if (id) {
      sweep_id = *id;
    } else {
      failure = id.error();
    }
  }
  if (failure && writer) writer->abandon();
  writer.reset();
  int rc = failure ? failure->exit_code() : 0;
  mpi::broadcast(world, rc, 0);
  if (failure) return liqsim::cli::report_error(*failure);  // as liqsim sweep: not a usage error
  liqsim::cli::print_sweep_output(o, o.request.axes, coordinator.stored(), sweep_id);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mpi::environment env(argc, argv);
  mpi::communicator world;
  try {
    return liqsim::cli::checked_stdout(run(world, Args(argv + 1, argv + argc)));
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "liqsim: rank %d: out of memory\n", world.rank());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "liqsim: rank %d: %s\n", world.rank(), liqsim::printable(ex.what()).c_str());
  }
  env.abort(2);
  return 2;
}
