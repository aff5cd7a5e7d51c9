// SIGINT and SIGTERM for a foreground server (`mdfetch serve`, `mdfetch sim`): blocked from
// construction, in this thread and in every thread started after it (the server's), so that
// Wait() takes them in order instead of a handler; the old mask is restored on destruction.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace mdfetch {

class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~StopSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Until SIGINT or SIGTERM comes; returns it.
  int Wait() {
    int sig = 0;
    sigwait(&set_, &sig);
    return sig;
  }

 private:
  sigset_t set_;
  sigset_t old_;
};

}  // namespace mdfetch
