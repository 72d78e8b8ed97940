#pragma once

#include <QtCore/QString>

#include <chrono>

namespace Quiesce::App {

struct Tunables;

/*! \brief The quit path's budgets, derived from one grace period: how long the supervisor waits between SIGTERM
    and SIGKILL (`docker stop -t`, systemd's TimeoutStopSec=, Kubernetes' terminationGracePeriodSeconds).

    Derivation (computeBudgets(); the same table is in README.md and docs/ARCHITECTURE.md), with G the grace
    period and H the hard deadline:
    | budget | derived as | G = 10 s | G = 30 s |
    |---|---|---|---|
    | margin | max(1 s, 10 % of G): the process is gone this long before the SIGKILL | 1 s | 3 s |
    | hard (watchdog, exit 70) | G - margin | 9 s | 27 s |
    | stop-intake | 5 % of H, at most 2 s | 450 ms | 1350 ms |
    | cancel | 5 % of H, at most 500 ms | 450 ms | 500 ms |
    | save | 20 % of H (fsync and checkpoint) | 1800 ms | 5400 ms |
    | pre-stop | 15 % of H, only with --pre-stop | (1350 ms) | (4050 ms) |
    | reserve | 5 % of H: stopping threads, the report, the exit | 450 ms | 1350 ms |
    | drain | H - all of the above | 5850 ms | 18400 ms |
    An explicit hard deadline replaces G - margin (the phases take their shares of it); an explicit drain is kept
    and the others keep their shares, so H must hold both: it grows to fit (the grace period with it, see
    computeBudgets()). */
struct Budgets
{
    std::chrono::milliseconds grace {0}; //!< effective: as given, or widened to fit explicit budgets
    std::chrono::milliseconds hard {0};  //!< the watchdog's deadline, counted from the first stop request
    std::chrono::milliseconds preStop {0};
    std::chrono::milliseconds stopIntake {0};
    std::chrono::milliseconds drain {0};
    std::chrono::milliseconds cancel {0};
    std::chrono::milliseconds save {0};

    /*! "grace_ms=10000 hard_ms=9000 pre_stop_ms=0 stop_intake_ms=450 drain_ms=5850 cancel_ms=450 save_ms=1800" */
    QString describe() const;
    bool operator==(const Budgets &) const = default;
};

/*! The default grace period: Docker's (`docker stop`), the strictest common default. */
inline constexpr std::chrono::milliseconds kDefaultGracePeriod {10000};
/*! The shortest grace period accepted: below it the 1 s margin leaves no hard deadline worth the name. */
inline constexpr std::chrono::milliseconds kMinimumGracePeriod {2000};

/*! Computes the budgets from \a tunables (\a withPreStop: a --pre-stop phase runs and gets its share).
    - When grace-period is set (command line or config file), explicit drain-timeout and hard-timeout must fit
      it: otherwise returns false with a one-line \a error (exit 64 at start; a reload keeps its settings).
    - Without it, the effective grace period widens to fit them and \a notice says so in one line (so existing
      command lines such as `--hard-timeout 660s` keep working).
    - With both hard-timeout and drain-timeout explicit, the other phases share what the drain leaves of the hard
      deadline (in the same proportions); a drain that does not end before the hard deadline is an error. */
bool computeBudgets(const Tunables &tunables, bool withPreStop, Budgets *out, QString *error, QString *notice);

} // namespace Quiesce::App
