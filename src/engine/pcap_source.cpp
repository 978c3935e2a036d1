// The Source of every engine an application opens: libpcap handles (source.hpp).
#include "engine/source.hpp"

namespace rtcap::detail {
namespace {

class PcapSource final : public Source {
 public:
  PcapSource(std::vector<backend::PcapHandle> handles, CaptureConfig config)
      : handles_(std::move(handles)), config_(std::move(config)) {}

  std::size_t size() const noexcept override { return handles_.size(); }
  const InterfaceInfo& info(std::size_t i) const noexcept override { return handles_[i].info(); }
  bool is_file() const noexcept override { return !config_.read_file.empty(); }
  std::uint64_t buffer_bytes(std::size_t i) const noexcept override {
    return handles_[i].buffer_bytes();
  }
  bool is_open(std::size_t i) const noexcept override { return handles_[i].get() != nullptr; }
  int dispatch(std::size_t i, int max, pcap_handler fn, u_char* user) noexcept override {
    return pcap_dispatch(handles_[i].get(), max, fn, user);
  }
  void breakloop(std::size_t i) noexcept override {
    if (pcap_t* p = handles_[i].get()) pcap_breakloop(p);
  }
  std::string error(std::size_t i) const override { return handles_[i].last_error(); }
  bool refresh_stats(std::size_t i) noexcept override { return handles_[i].refresh_stats(); }
  const backend::WidenedStats& stats(std::size_t i) const noexcept override {
    return handles_[i].stats();
  }
  Result<std::unique_ptr<platform::ReadinessWaiter>> make_waiter() override {
    // epoll refuses regular files: a capture file waits on the wake-up only.
    std::vector<pcap_t*> open;
    if (!is_file())
      for (auto& h : handles_)
        if (h.get()) open.push_back(h.get());
    return platform::ReadinessWaiter::create(open);
  }
  platform::LinkState link_state(std::size_t i) noexcept override {
    return platform::link_state(handles_[i].info().name, config_.netns);
  }
  void close(std::size_t i) noexcept override { handles_[i].close(); }
  Result<void> reopen(std::size_t i, std::vector<std::string>& warnings) override {
    return handles_[i].reopen(config_, warnings);
  }

 private:
  std::vector<backend::PcapHandle> handles_;
  const CaptureConfig config_;
};

}  // namespace

std::unique_ptr<Source> make_pcap_source(std::vector<backend::PcapHandle> handles,
                                         const CaptureConfig& config) {
  return std::make_unique<PcapSource>(std::move(handles), config);
}

}  // namespace rtcap::detail
