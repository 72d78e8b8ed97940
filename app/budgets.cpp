#include "budgets.h"

#include "options.h"

#include <algorithm>

namespace Quiesce::App {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

milliseconds marginOf(milliseconds grace)
{
    return std::max<milliseconds>(1s, grace / 10);
}

milliseconds hardFor(milliseconds grace)
{
    return grace - marginOf(grace);
}

// The shortest grace period whose hard deadline is at least \a hard.
milliseconds graceFor(milliseconds hard)
{
    return std::max<milliseconds>(hard + 1s, milliseconds((hard.count() * 10 + 8) / 9));
}

// Every phase but the drain, and the reserve for what follows the phases: shares of the hard deadline.
struct Shares
{
    milliseconds preStop {0}, stopIntake {0}, cancel {0}, save {0}, reserve {0};

    milliseconds total() const { return preStop + stopIntake + cancel + save + reserve; }
};

Shares sharesOf(milliseconds hard, bool withPreStop)
{
    const auto percent = [hard](int p) { return milliseconds(hard.count() * p / 100); };
    Shares s;
    s.stopIntake = std::min<milliseconds>(percent(5), 2s); // the last commits: a few ms normally
    s.cancel = std::min<milliseconds>(percent(5), 500ms);  // one slice (<= 10 ms) per cooperative worker
    s.save = percent(20);                                  // a transaction, fsync, a checkpoint, a close
    s.preStop = withPreStop ? percent(15) : 0ms;
    s.reserve = percent(5);
    return s;
}

// The shortest hard deadline whose shares leave \a drain for the drain (the rest grows at least half as fast).
milliseconds hardForDrain(milliseconds drain, bool withPreStop)
{
    milliseconds hard = drain;
    for (;;) {
        const milliseconds left = hard - sharesOf(hard, withPreStop).total();
        if (left >= drain)
            return hard;
        hard += std::max<milliseconds>(drain - left, 1ms);
    }
}

QString msText(milliseconds d)
{
    return QStringLiteral("%1 ms").arg(d.count());
}

} // namespace

QString Budgets::describe() const
{
    return QStringLiteral("grace_ms=%1 hard_ms=%2 pre_stop_ms=%3 stop_intake_ms=%4 drain_ms=%5 cancel_ms=%6 save_ms=%7")
        .arg(grace.count())
        .arg(hard.count())
        .arg(preStop.count())
        .arg(stopIntake.count())
        .arg(drain.count())
        .arg(cancel.count())
        .arg(save.count());
}

bool computeBudgets(const Tunables &tunables, bool withPreStop, Budgets *out, QString *error, QString *notice)
{
    notice->clear();
    const bool graceGiven = tunables.gracePeriod.has_value();
    milliseconds grace = tunables.gracePeriod.value_or(kDefaultGracePeriod);
    if (grace < kMinimumGracePeriod) {
        *error = QStringLiteral("grace-period must be at least %1 (max(1 s, 10 %) of it is the margin), not %2")
                     .arg(msText(kMinimumGracePeriod), msText(grace));
        return false;
    }

    milliseconds hard = tunables.hardTimeout.value_or(hardFor(grace));
    Shares shares = sharesOf(hard, withPreStop);
    milliseconds drain = hard - shares.total();
    if (tunables.drainTimeout) {
        drain = *tunables.drainTimeout;
        if (tunables.hardTimeout && *tunables.hardTimeout <= drain) {
            *error = QStringLiteral("hard-timeout (%1) must be longer than drain-timeout (%2)")
                         .arg(msText(hard), msText(drain));
            return false;
        }
        if (drain + shares.total() > hard) {
            if (tunables.hardTimeout) {
                // Both given: the drain keeps its budget, the others share what it leaves, as they would have.
                const qint64 left = (hard - drain).count();
                const qint64 total = shares.total().count();
                for (milliseconds *m :
                     {&shares.preStop, &shares.stopIntake, &shares.cancel, &shares.save, &shares.reserve})
                    *m = milliseconds(m->count() * left / total);
            } else {
                hard = hardForDrain(drain, withPreStop);
                shares = sharesOf(hard, withPreStop);
            }
        }
    }

    if (hard > hardFor(grace)) {
        const milliseconds needed = graceFor(hard);
        const QString what = tunables.hardTimeout ? QStringLiteral("hard-timeout %1").arg(msText(hard))
                                                  : QStringLiteral("drain-timeout %1").arg(msText(drain));
        if (graceGiven) {
            const QString why = tunables.hardTimeout
                ? QStringLiteral("the hard deadline must pass max(1 s, 10 %) before the supervisor's SIGKILL")
                : QStringLiteral("with the other phases it needs a hard deadline of %1").arg(msText(hard));
            *error = QStringLiteral("%1 does not fit grace-period %2: %3, so a grace period of at least %4")
                         .arg(what, msText(grace), why, msText(needed));
            return false;
        }
        *notice = QStringLiteral("grace period widened from %1 to %2 to fit %3 (give --grace-period to refuse "
                                 "budgets that do not fit instead)")
                      .arg(msText(grace), msText(needed), what);
        grace = needed;
    }

    out->grace = grace;
    out->hard = hard;
    out->preStop = shares.preStop;
    out->stopIntake = shares.stopIntake;
    out->drain = drain;
    out->cancel = shares.cancel;
    out->save = shares.save;
    return true;
}

} // namespace Quiesce::App
