<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>Quiesce::App::MainWindow</name>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop intake, let the requests in flight finish, save, exit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Pause intake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Suspend new arrivals; the workers finish what is queued (like SIGUSR2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Submit &amp;burst</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Submit the given number of requests at once</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Simulate a &amp;hung request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The next request blocks, deaf to cancellation, like a stuck blocking call</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GUI the next request will hang</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Ask before quitting while work is in flight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only for closing the window or File → Quit; signals and logout never ask</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Requests per burst</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> req/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mean arrival rate (Poisson); 0 = no arrivals</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Worker threads; fewer retire idle ones first, a busy one after its request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Control</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About Quiesce</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Quiesce</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Quiesce %1&lt;/b&gt;&lt;p&gt;Simulated request processing on worker threads that stops in order: intake, drain, cancel, save, threads, exit.&lt;/p&gt;&lt;p&gt;SIGTERM, SIGINT, closing this window, File → Quit and logout all take the same quit path.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Control</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> Rate </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>  Workers </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Counters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accepted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Queued</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In flight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovered</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Workers busy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Requests/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Throughput and queue depth</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lifecycle lines (READY, SHUTDOWN ...) appear here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit Quiesce?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit while work is in flight? %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quitting stops intake and lets the requests in flight finish (up to the drain timeout). Nothing accepted is lost: unfinished requests run on the next start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Do not ask again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show shutdown &amp;progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show what the shutdown is doing; it goes on by itself</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>exiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>shutting down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>stopping now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running, intake paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>running</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Quiesce::App::ShutdownDialog</name>
    <message>
        <source>Quiesce is shutting down because its window was closed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce is shutting down because you chose Quit.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce is shutting down because the system asked it to (SIGTERM).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce is shutting down because it was interrupted (Ctrl+C).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce is shutting down because the session is ending.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce is shutting down because all work is done.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce is shutting down (%1).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exit immediately…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce — shutting down</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shutdown progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shutdown steps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hide this window; the shutdown goes on (closing the main window shows it again)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running the pre-stop command</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accepting no new requests</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finishing requests in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling requests in progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saving</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping the workers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exit immediately?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exit now, without waiting for the cancelled requests and without the remaining steps?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every accepted request is already saved and runs again on the next start, but the next start has to recover the requests that were in progress.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exit immediately</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1, %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n request(s) in progress</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n queued</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>to do</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>took longer than allowed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not needed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 — %2 (%3)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Requests in progress may finish. Nothing new is accepted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel the requests in progress now and save them; they run again first on the next start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping now: requests in progress are cancelled, saved and run again first on the next start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exit at once without the remaining steps (asks first); every accepted request is already saved and runs again on the next start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Exiting immediately.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done. Quiesce ends now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Now: %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Now: getting ready to stop.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n request(s) still in progress.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>No request is in progress.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n queued request(s) are saved and run first next time.</source>
        <translation type="unfinished">
            <numerusform></numerusform>
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>No request is waiting in the queue.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting up to %1 more for the requests in progress.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Requests in progress get up to %1 to finish.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“%1” took longer than allowed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Request %1 on worker %2 does not respond.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Request %1 on worker %2 is still running.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce cannot stop request %1; it ends once the request does. Nothing accepted is lost.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quiesce will now end within %1 without waiting for request %2. Nothing accepted is lost: it is saved and runs again first next time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Quiesce::App::ThroughputPlot</name>
    <message>
        <source>Throughput (requests done per second, left scale) and queue depth (right scale) over the last minute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>-%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>throughput (requests/s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>queue depth</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Quiesce::App::WorkerTableModel</name>
    <message>
        <source>hung</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>busy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>idle</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Blocked in a simulated hang: deaf to cancellation. Should it stay stuck through a shutdown, the watchdog ends the process at the hard deadline.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Worker</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>State</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Request</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Elapsed</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
