// Configuration files that must be refused with an error naming the file and
// key: a first tier with a maintenance amount, a file too large to be a
// configuration (or one that never ends), a directory.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "liqsim/config.hpp"

using namespace liqsim;
namespace fs = std::filesystem;

namespace {

std::string config_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("liqsim-config-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

Result<Config> config_of(const std::string& text) {
  auto doc = parse_json(text);
  REQUIRE(doc.ok());
  return parse_config(*doc, "config.json");
}

std::string tiered_config(const std::string& first_amount, const std::string& second_amount) {
  return R"({"assets":{"BTC":{}},"markets":{"BTC-PERP":{"underlying":"BTC","tiers":[
    {"max_notional":"50000","initial_margin_ratio":"0.008","maintenance_margin_ratio":"0.004","maintenance_amount":")" +
         first_amount + R"("},
    {"max_notional":"500000","initial_margin_ratio":"0.01","maintenance_margin_ratio":"0.005","maintenance_amount":")" +
         second_amount + R"("}]}}})";
}

}  // namespace

TEST_CASE("a first tier with a maintenance amount is a config error naming that key", "[config]") {
  REQUIRE(config_of(tiered_config("0", "50")).ok());
  // Continuous at 50000 (50000 × 0.004 − 10 = 50000 × 0.005 − 60), but at
  // notional 0 the requirement would be −10: small positions would need none.
  auto c = config_of(tiered_config("10", "60"));
  REQUIRE_FALSE(c.ok());
  INFO(c.error().describe());
  CHECK(c.error().kind == ErrorKind::config);
  CHECK(c.error().file == "config.json");
  CHECK(c.error().field == "markets.BTC-PERP.tiers[0].maintenance_amount");
  CHECK(c.error().message.find("continuous from notional 0") != std::string::npos);
  CHECK(c.error().message.find("0 × 0.004 − 10") != std::string::npos);
}

TEST_CASE("a param event cannot give the first tier a maintenance amount either", "[config]") {
  auto c = config_of(tiered_config("0", "50"));
  REQUIRE(c.ok());
  auto next = apply_param(
      *c, "markets.BTC-PERP.tiers",
      R"([{"max_notional":"50000","initial_margin_ratio":"0.008","maintenance_margin_ratio":"0.004",)"
      R"("maintenance_amount":"1"}])");
  REQUIRE_FALSE(next.ok());
  INFO(next.error().describe());
  CHECK(next.error().field == "value");
  CHECK(next.error().message.find("tiers[0].maintenance_amount") != std::string::npos);
}

TEST_CASE("every configuration shipped in the repository still loads", "[config]") {
  const fs::path root = LIQSIM_SOURCE_ROOT;
  int loaded = 0;
  for (const char* dir : {"events/examples", "replays"}) {
    for (const auto& entry : fs::directory_iterator(root / dir)) {
      const fs::path config = entry.path() / "config.json";
      if (!fs::exists(config)) continue;
      auto c = load_config(config.string());
      INFO(config.string() << ": " << (c.ok() ? std::string("ok") : c.error().describe()));
      CHECK(c.ok());
      ++loaded;
    }
  }
  CHECK(loaded >= 9);  // six examples and three replays
}

TEST_CASE("a directory given as the configuration is refused, naming it", "[config]") {
  const std::string dir = config_dir("dir");
  auto c = load_config(dir);
  REQUIRE_FALSE(c.ok());
  INFO(c.error().describe());
  CHECK(c.error().file == dir);
  CHECK(c.error().message.find("directory") != std::string::npos);
  CHECK(c.error().message.find("JSON") == std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a missing configuration file is refused with the operating system's reason", "[config]") {
  const std::string dir = config_dir("missing");
  auto c = load_config(dir + "/nope.json");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().kind == ErrorKind::io);
  CHECK(c.error().file == dir + "/nope.json");
  CHECK(c.error().message.find(std::strerror(ENOENT)) != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a configuration larger than 16 MiB is refused", "[config]") {
  const std::string dir = config_dir("large");
  const std::string path = dir + "/big.json";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"markets\":{}}";
    out << std::string((std::size_t{16} << 20) - 13, ' ');  // 16 MiB + 1 byte in all
  }
  auto c = load_config(path);
  REQUIRE_FALSE(c.ok());
  INFO(c.error().describe());
  CHECK(c.error().file == path);
  CHECK(c.error().message.find("16 MiB") != std::string::npos);
  fs::remove_all(dir);
}

// `--config /dev/zero` must not read until memory runs out. A pipe stands in
// for the endless device: a writer offers 64 MiB, and the reader must stop
// (closing the pipe, so the writer's next write fails) soon after 16 MiB.
TEST_CASE("a configuration that never ends is read only up to the 16 MiB cap", "[config]") {
  const std::string dir = config_dir("endless");
  const std::string fifo = dir + "/endless.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGPIPE, &ignore, &previous) == 0);  // a closed pipe is EPIPE, not death
  std::size_t written = 0;
  std::thread writer([&] {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    const std::string chunk(1 << 20, ' ');
    while (written < (std::size_t{64} << 20)) {
      const ssize_t n = ::write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  auto c = load_config(fifo);
  // Should load_config not have opened the pipe, let the writer's open return.
  if (const int unblock = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC); unblock >= 0)
    ::close(unblock);
  writer.join();
  ::sigaction(SIGPIPE, &previous, nullptr);
  REQUIRE_FALSE(c.ok());
  INFO(c.error().describe());
  CHECK(c.error().file == fifo);
  CHECK(c.error().message.find("16 MiB") != std::string::npos);
  CHECK(written < (std::size_t{32} << 20));
  fs::remove_all(dir);
}
