// The live audio API's refusals in the library's words, one place: AudioReceiver says them with
// its method's name, the C API (and Python through it) with its function's name.
#pragma once

namespace rtcap::detail {

// subscribe/unsubscribe (C: every call on the rtcap_audio) from inside one of its own callbacks.
inline constexpr const char* kAudioCallFromCallback =
    "called from inside one of the receiver's callbacks; call it after the callback returns";

}  // namespace rtcap::detail
