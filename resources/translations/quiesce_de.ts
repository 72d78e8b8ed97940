<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>Quiesce::App::MainWindow</name>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <source>&amp;Pause intake</source>
        <translation>Zulauf &amp;anhalten</translation>
    </message>
    <message>
        <source>Suspend new arrivals; the workers finish what is queued (like SIGUSR2)</source>
        <translation>Neue Anfragen anhalten; die Worker arbeiten die Warteschlange ab (wie SIGUSR2)</translation>
    </message>
    <message>
        <source>Submit &amp;burst</source>
        <translation>&amp;Schub senden</translation>
    </message>
    <message>
        <source>Simulate a &amp;hung request</source>
        <translation>&amp;Hängende Anfrage simulieren</translation>
    </message>
    <message>
        <source>The next request blocks, deaf to cancellation, like a stuck blocking call</source>
        <translation>Die nächste Anfrage blockiert und reagiert nicht auf Abbruch, wie ein hängender blockierender Aufruf</translation>
    </message>
    <message>
        <source>GUI the next request will hang</source>
        <translation>GUI die nächste Anfrage wird hängen</translation>
    </message>
    <message>
        <source>Only for closing the window or File → Quit; signals and logout never ask</source>
        <translation>Nur beim Schließen des Fensters oder Datei → Beenden; Signale und Abmelden fragen nie</translation>
    </message>
    <message>
        <source>Requests per burst</source>
        <translation>Anfragen pro Schub</translation>
    </message>
    <message>
        <source> req/s</source>
        <translation> Anfr./s</translation>
    </message>
    <message>
        <source>Mean arrival rate (Poisson); 0 = no arrivals</source>
        <translation>Mittlere Ankunftsrate (Poisson); 0 = keine Ankünfte</translation>
    </message>
    <message>
        <source>Worker threads; fewer retire idle ones first, a busy one after its request</source>
        <translation>Worker-Threads; beim Verringern enden zuerst freie, ein beschäftigter nach seiner Anfrage</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <source>&amp;Control</source>
        <translation>S&amp;teuerung</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>&amp;Einstellungen</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <source>&amp;About Quiesce</source>
        <translation>Ü&amp;ber Quiesce</translation>
    </message>
    <message>
        <source>About Quiesce</source>
        <translation>Über Quiesce</translation>
    </message>
    <message>
        <source>Control</source>
        <translation>Steuerung</translation>
    </message>
    <message>
        <source>Counters</source>
        <translation>Zähler</translation>
    </message>
    <message>
        <source>Accepted</source>
        <translation>Angenommen</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>Erledigt</translation>
    </message>
    <message>
        <source>Queued</source>
        <translation>Wartend</translation>
    </message>
    <message>
        <source>Shed</source>
        <translation>Abgewiesen</translation>
    </message>
    <message>
        <source>Recovered</source>
        <translation>Wiederhergestellt</translation>
    </message>
    <message>
        <source>Workers busy</source>
        <translation>Worker beschäftigt</translation>
    </message>
    <message>
        <source>Throughput and queue depth</source>
        <translation>Durchsatz und Warteschlangenlänge</translation>
    </message>
    <message>
        <source>Lifecycle lines (READY, SHUTDOWN ...) appear here.</source>
        <translation>Hier erscheinen die Lebenszyklus-Zeilen (READY, SHUTDOWN …).</translation>
    </message>
    <message>
        <source>Quit Quiesce?</source>
        <translation>Quiesce beenden?</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
    <message>
        <source>Do not ask again</source>
        <translation>Nicht mehr fragen</translation>
    </message>
    <message>
        <source>Show shutdown &amp;progress</source>
        <translation>&amp;Fortschritt des Beendens zeigen</translation>
    </message>
    <message>
        <source>Show what the shutdown is doing; it goes on by itself</source>
        <translation>Zeigen, was beim Beenden gerade geschieht; es läuft von selbst weiter</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Stop intake, let the requests in progress finish, save, exit</source>
        <translation>Keine neuen Anfragen, laufende fertig werden lassen, speichern, beenden</translation>
    </message>
    <message>
        <source>Submit the number of requests set in Burst size at once</source>
        <translation>So viele Anfragen auf einmal senden, wie in Schubgröße eingestellt</translation>
    </message>
    <message numerus="yes">
        <source>Intake is paused: the burst of %Ln request(s) is submitted when you resume</source>
        <translation>
            <numerusform>Der Zulauf ist angehalten: der Schub von %Ln Anfrage wird beim Fortsetzen gesendet</numerusform>
            <numerusform>Der Zulauf ist angehalten: der Schub von %Ln Anfragen wird beim Fortsetzen gesendet</numerusform>
        </translation>
    </message>
    <message>
        <source>Burst size</source>
        <translation>Schubgröße</translation>
    </message>
    <message>
        <source>Arrival rate</source>
        <translation>Ankunftsrate</translation>
    </message>
    <message>
        <source>Mean arrival rate in requests per second; 0 = no arrivals</source>
        <translation>Mittlere Ankunftsrate in Anfragen pro Sekunde; 0 = keine Ankünfte</translation>
    </message>
    <message>
        <source>Workers</source>
        <translation>Worker</translation>
    </message>
    <message>
        <source>Restore &amp;defaults</source>
        <translation>&amp;Standardwerte wiederherstellen</translation>
    </message>
    <message>
        <source>Forget the values changed in this window; the command line and the config file still apply</source>
        <translation>Die in diesem Fenster geänderten Werte vergessen; Befehlszeile und Konfigurationsdatei gelten weiter</translation>
    </message>
    <message>
        <source>&amp;Help and Keyboard Shortcuts</source>
        <translation>&amp;Hilfe und Tastenkürzel</translation>
    </message>
    <message>
        <source>What the window does and every keyboard shortcut</source>
        <translation>Was das Fenster tut, und alle Tastenkürzel</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Über &amp;Qt</translation>
    </message>
    <message>
        <source>&amp;Burst size</source>
        <translation>Schu&amp;bgröße</translation>
    </message>
    <message>
        <source>Arrival &amp;rate</source>
        <translation>Ankunfts&amp;rate</translation>
    </message>
    <message>
        <source>&amp;Workers</source>
        <translation>&amp;Worker</translation>
    </message>
    <message>
        <source>More controls</source>
        <translation>Weitere Bedienelemente</translation>
    </message>
    <message>
        <source>In progress</source>
        <translation>In Arbeit</translation>
    </message>
    <message>
        <source>Done/s</source>
        <translation>Erledigt/s</translation>
    </message>
    <message>
        <source>Requests done per second</source>
        <translation>Erledigte Anfragen pro Sekunde</translation>
    </message>
    <message>
        <source>Requests done per second over the last two seconds, as the plot shows</source>
        <translation>Erledigte Anfragen pro Sekunde über die letzten zwei Sekunden, wie im Diagramm</translation>
    </message>
    <message>
        <source>One row per worker thread: state, request, progress and time taken</source>
        <translation>Eine Zeile pro Worker-Thread: Zustand, Anfrage, Fortschritt und verstrichene Zeit</translation>
    </message>
    <message>
        <source>Lifecycle log</source>
        <translation>Lebenszyklus-Protokoll</translation>
    </message>
    <message>
        <source>&lt;h3&gt;Quiesce %1&lt;/h3&gt;&lt;p&gt;Simulated request processing on worker threads that stops in order: it stops taking requests, lets those in progress finish, saves the rest for the next start and exits.&lt;/p&gt;&lt;p&gt;Closing this window, File → Quit, logging out and the signals SIGTERM and SIGINT all take that same path.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;Quiesce %1&lt;/h3&gt;&lt;p&gt;Simulierte Verarbeitung von Anfragen in Worker-Threads, die geordnet endet: keine neuen Anfragen mehr, laufende werden fertig, der Rest wird für den nächsten Start gespeichert, dann das Ende.&lt;/p&gt;&lt;p&gt;Das Schließen dieses Fensters, Datei → Beenden, das Abmelden und die Signale SIGTERM und SIGINT nehmen alle denselben Weg.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&lt;p&gt;Website: &lt;a href=&quot;%1&quot;&gt;%1&lt;/a&gt;&lt;br&gt;Licence: %2&lt;br&gt;Built with Qt %3, running on Qt %4.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Website: &lt;a href=&quot;%1&quot;&gt;%1&lt;/a&gt;&lt;br&gt;Lizenz: %2&lt;br&gt;Erstellt mit Qt %3, läuft mit Qt %4.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>not declared yet (see the README)</source>
        <translation>noch nicht angegeben (siehe README)</translation>
    </message>
    <message>
        <source>Help and keyboard shortcuts</source>
        <translation>Hilfe und Tastenkürzel</translation>
    </message>
    <message>
        <source>Go to Burst size, Arrival rate, Workers</source>
        <translation>Zu Schubgröße, Ankunftsrate, Worker springen</translation>
    </message>
    <message>
        <source>Alt+B, Alt+R, Alt+W</source>
        <translation>Alt+B, Alt+R, Alt+W</translation>
    </message>
    <message>
        <source>Next or previous control</source>
        <translation>Nächstes oder vorheriges Bedienelement</translation>
    </message>
    <message>
        <source>Tab, Shift+Tab</source>
        <translation>Tab, Umschalt+Tab</translation>
    </message>
    <message>
        <source>Open a menu</source>
        <translation>Ein Menü öffnen</translation>
    </message>
    <message>
        <source>Alt + the underlined letter, or F10</source>
        <translation>Alt + der unterstrichene Buchstabe, oder F10</translation>
    </message>
    <message>
        <source>Help and Keyboard Shortcuts</source>
        <translation>Hilfe und Tastenkürzel</translation>
    </message>
    <message>
        <source>&lt;p&gt;The window shows the workers, the counters, a plot of the last minute and the log. Closing it stops Quiesce in order: no new requests, those in progress finish, queued ones are saved and run first next time. While it stops, closing again only shows its progress; only “Stop now” hurries it.&lt;/p&gt;</source>
        <translation>&lt;p&gt;Das Fenster zeigt die Worker, die Zähler, ein Diagramm der letzten Minute und das Protokoll. Wer es schließt, beendet Quiesce geordnet: keine neuen Anfragen, laufende werden fertig, wartende werden gespeichert und laufen beim nächsten Start zuerst. Während es endet, zeigt erneutes Schließen nur den Fortschritt; nur „Jetzt stoppen“ beschleunigt es.&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&amp;Resume intake</source>
        <translation>Zulauf &amp;fortsetzen</translation>
    </message>
    <message>
        <source>Accept new arrivals again (like SIGUSR2)</source>
        <translation>Wieder neue Anfragen annehmen (wie SIGUSR2)</translation>
    </message>
    <message>
        <source>%1 of %2</source>
        <translation>%1 von %2</translation>
    </message>
    <message>
        <source>Intake paused</source>
        <translation>Zulauf angehalten</translation>
    </message>
    <message>
        <source>Intake held: the queue is full (%1 of %2)</source>
        <translation>Zulauf gebremst: die Warteschlange ist voll (%1 von %2)</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>Läuft</translation>
    </message>
    <message>
        <source>Quiesce — shutting down</source>
        <translation>Quiesce – wird beendet</translation>
    </message>
    <message>
        <source>&amp;Ask before quitting while requests are in progress</source>
        <translation>&amp;Vor dem Beenden fragen, solange Anfragen laufen</translation>
    </message>
    <message>
        <source>Quit while requests are in progress? %1.</source>
        <translation>Beenden, während Anfragen laufen? %1.</translation>
    </message>
    <message>
        <source>Quitting accepts no new requests and lets those in progress finish (up to the drain timeout). Nothing accepted is lost: unfinished requests run on the next start.</source>
        <translation>Beim Beenden werden keine neuen Anfragen mehr angenommen; laufende dürfen fertig werden (bis zum Drain-Timeout). Nichts Angenommenes geht verloren: Unerledigtes läuft beim nächsten Start.</translation>
    </message>
    <message>
        <source>Exiting</source>
        <translation>Wird beendet</translation>
    </message>
    <message>
        <source>Shutting down</source>
        <translation>Fährt herunter</translation>
    </message>
    <message>
        <source>Stopping now</source>
        <translation>Stoppt sofort</translation>
    </message>
    <message>
        <source>Quiesce did not stop cleanly last time (process %1: a crash, a power cut or a forced kill).</source>
        <translation>Quiesce wurde beim letzten Mal nicht sauber beendet (Prozess %1: ein Absturz, ein Stromausfall oder ein erzwungenes Beenden).</translation>
    </message>
    <message numerus="yes">
        <source>Nothing accepted was lost: %Ln request(s) from last time run first now.</source>
        <translation>
            <numerusform>Nichts Angenommenes ging verloren: %Ln Anfrage vom letzten Mal läuft jetzt zuerst.</numerusform>
            <numerusform>Nichts Angenommenes ging verloren: %Ln Anfragen vom letzten Mal laufen jetzt zuerst.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln of them had been interrupted while in progress and run again.</source>
        <translation>
            <numerusform>%Ln davon wurde mitten in der Arbeit unterbrochen und läuft erneut.</numerusform>
            <numerusform>%Ln davon wurden mitten in der Arbeit unterbrochen und laufen erneut.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln request(s) saved when Quiesce last stopped run first now.</source>
        <translation>
            <numerusform>%Ln beim letzten Beenden gespeicherte Anfrage läuft jetzt zuerst.</numerusform>
            <numerusform>%Ln beim letzten Beenden gespeicherte Anfragen laufen jetzt zuerst.</numerusform>
        </translation>
    </message>
    <message>
        <source>Last time Quiesce had to be ended by its watchdog: request %1 on worker %2 did not respond.</source>
        <translation>Beim letzten Mal musste der Wachhund Quiesce beenden: Anfrage %1 auf Worker %2 reagierte nicht.</translation>
    </message>
    <message>
        <source>Last time Quiesce had to be ended by its watchdog: its shutdown did not finish in time.</source>
        <translation>Beim letzten Mal musste der Wachhund Quiesce beenden: das Beenden wurde nicht rechtzeitig fertig.</translation>
    </message>
    <message>
        <source>Degraded: %1 of %2 worker processes disabled after crashing repeatedly</source>
        <translation>Eingeschränkt: %1 von %2 Arbeitsprozessen nach wiederholten Abstürzen abgeschaltet</translation>
    </message>
</context>
<context>
    <name>Quiesce::App::MessageBar</name>
    <message>
        <source>Dismiss this message</source>
        <translation>Diese Meldung schließen</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Warnung</translation>
    </message>
    <message>
        <source>Information</source>
        <translation>Information</translation>
    </message>
</context>
<context>
    <name>Quiesce::App::ShutdownDialog</name>
    <message>
        <source>Quiesce is shutting down because its window was closed.</source>
        <translation>Quiesce wird beendet, weil sein Fenster geschlossen wurde.</translation>
    </message>
    <message>
        <source>Quiesce is shutting down because you chose Quit.</source>
        <translation>Quiesce wird beendet, weil Sie „Beenden“ gewählt haben.</translation>
    </message>
    <message>
        <source>Quiesce is shutting down because the system asked it to (SIGTERM).</source>
        <translation>Quiesce wird beendet, weil das System darum gebeten hat (SIGTERM).</translation>
    </message>
    <message>
        <source>Quiesce is shutting down because it was interrupted (Ctrl+C).</source>
        <translation>Quiesce wird beendet, weil es unterbrochen wurde (Strg+C).</translation>
    </message>
    <message>
        <source>Quiesce is shutting down because the session is ending.</source>
        <translation>Quiesce wird beendet, weil die Sitzung endet.</translation>
    </message>
    <message>
        <source>Quiesce is shutting down because all work is done.</source>
        <translation>Quiesce wird beendet, weil alle Arbeit erledigt ist.</translation>
    </message>
    <message>
        <source>Quiesce is shutting down (%1).</source>
        <translation>Quiesce wird beendet (%1).</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>Stop now</source>
        <translation>Jetzt stoppen</translation>
    </message>
    <message>
        <source>Exit immediately…</source>
        <translation>Sofort beenden …</translation>
    </message>
    <message>
        <source>Hide</source>
        <translation>Ausblenden</translation>
    </message>
    <message>
        <source>Quiesce — shutting down</source>
        <translation>Quiesce – wird beendet</translation>
    </message>
    <message>
        <source>Shutdown progress</source>
        <translation>Fortschritt des Beendens</translation>
    </message>
    <message>
        <source>Shutdown steps</source>
        <translation>Schritte des Beendens</translation>
    </message>
    <message>
        <source>Hide this window; the shutdown goes on (closing the main window shows it again)</source>
        <translation>Dieses Fenster ausblenden; das Beenden läuft weiter (Schließen des Hauptfensters zeigt es wieder)</translation>
    </message>
    <message>
        <source>Running the pre-stop command</source>
        <translation>Befehl vor dem Stoppen wird ausgeführt</translation>
    </message>
    <message>
        <source>Accepting no new requests</source>
        <translation>Keine neuen Anfragen mehr</translation>
    </message>
    <message>
        <source>Finishing requests in progress</source>
        <translation>Laufende Anfragen werden fertig</translation>
    </message>
    <message>
        <source>Cancelling requests in progress</source>
        <translation>Laufende Anfragen werden abgebrochen</translation>
    </message>
    <message>
        <source>Saving</source>
        <translation>Speichern</translation>
    </message>
    <message>
        <source>Stopping the workers</source>
        <translation>Worker werden gestoppt</translation>
    </message>
    <message>
        <source>Exit immediately?</source>
        <translation>Sofort beenden?</translation>
    </message>
    <message>
        <source>Exit now, without waiting for the cancelled requests and without the remaining steps?</source>
        <translation>Jetzt beenden, ohne auf die abgebrochenen Anfragen und die übrigen Schritte zu warten?</translation>
    </message>
    <message>
        <source>Every accepted request is already saved and runs again on the next start, but the next start has to recover the requests that were in progress.</source>
        <translation>Jede angenommene Anfrage ist bereits gespeichert und läuft beim nächsten Start erneut, aber der nächste Start muss die laufenden Anfragen wiederherstellen.</translation>
    </message>
    <message>
        <source>Exit immediately</source>
        <translation>Sofort beenden</translation>
    </message>
    <message>
        <source>%1, %2</source>
        <translation>%1, %2</translation>
    </message>
    <message>
        <source>to do</source>
        <translation>ausstehend</translation>
    </message>
    <message>
        <source>now</source>
        <translation>jetzt</translation>
    </message>
    <message>
        <source>done</source>
        <translation>erledigt</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fehlgeschlagen</translation>
    </message>
    <message>
        <source>not needed</source>
        <translation>nicht nötig</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <translation>%1 – %2</translation>
    </message>
    <message>
        <source>%1 — %2 (%3)</source>
        <translation>%1 – %2 (%3)</translation>
    </message>
    <message>
        <source>Requests in progress may finish. Nothing new is accepted.</source>
        <translation>Laufende Anfragen dürfen fertig werden. Neues wird nicht angenommen.</translation>
    </message>
    <message>
        <source>Cancel the requests in progress now and save them; they run again first on the next start</source>
        <translation>Die laufenden Anfragen jetzt abbrechen und speichern; sie laufen beim nächsten Start zuerst erneut</translation>
    </message>
    <message>
        <source>Stopping now: requests in progress are cancelled, saved and run again first on the next start.</source>
        <translation>Stoppt sofort: laufende Anfragen werden abgebrochen, gespeichert und laufen beim nächsten Start zuerst erneut.</translation>
    </message>
    <message>
        <source>Stopping now</source>
        <translation>Stoppt sofort</translation>
    </message>
    <message>
        <source>Exit at once without the remaining steps (asks first); every accepted request is already saved and runs again on the next start</source>
        <translation>Sofort ohne die übrigen Schritte beenden (fragt vorher); jede angenommene Anfrage ist bereits gespeichert und läuft beim nächsten Start erneut</translation>
    </message>
    <message>
        <source>Exiting immediately.</source>
        <translation>Wird sofort beendet.</translation>
    </message>
    <message>
        <source>Done. Quiesce ends now.</source>
        <translation>Fertig. Quiesce endet jetzt.</translation>
    </message>
    <message>
        <source>Now: %1.</source>
        <translation>Jetzt: %1.</translation>
    </message>
    <message>
        <source>Now: getting ready to stop.</source>
        <translation>Jetzt: Vorbereitung zum Stoppen.</translation>
    </message>
    <message>
        <source>No request is in progress.</source>
        <translation>Keine Anfrage läuft.</translation>
    </message>
    <message>
        <source>No request is waiting in the queue.</source>
        <translation>Keine Anfrage wartet in der Warteschlange.</translation>
    </message>
    <message>
        <source>Waiting up to %1 more for the requests in progress.</source>
        <translation>Noch bis zu %1 Warten auf die laufenden Anfragen.</translation>
    </message>
    <message>
        <source>Requests in progress get up to %1 to finish.</source>
        <translation>Laufende Anfragen haben bis zu %1, um fertig zu werden.</translation>
    </message>
    <message>
        <source>“%1” took longer than allowed.</source>
        <translation>„%1“ dauerte länger als erlaubt.</translation>
    </message>
    <message>
        <source>Request %1 on worker %2 does not respond.</source>
        <translation>Anfrage %1 auf Worker %2 reagiert nicht.</translation>
    </message>
    <message>
        <source>Request %1 on worker %2 is still running.</source>
        <translation>Anfrage %1 auf Worker %2 läuft noch.</translation>
    </message>
    <message>
        <source>Quiesce cannot stop request %1; it ends once the request does. Nothing accepted is lost.</source>
        <translation>Quiesce kann Anfrage %1 nicht stoppen; es endet, sobald die Anfrage endet. Nichts Angenommenes geht verloren.</translation>
    </message>
    <message>
        <source>Quiesce will now end within %1 without waiting for request %2. Nothing accepted is lost: it is saved and runs again first next time.</source>
        <translation>Quiesce endet jetzt innerhalb von %1, ohne auf Anfrage %2 zu warten. Nichts Angenommenes geht verloren: sie ist gespeichert und läuft beim nächsten Start zuerst erneut.</translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message numerus="yes">
        <source>%Ln request(s) in progress</source>
        <translation>
            <numerusform>%Ln Anfrage in Arbeit</numerusform>
            <numerusform>%Ln Anfragen in Arbeit</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln queued</source>
        <translation>
            <numerusform>%Ln wartend</numerusform>
            <numerusform>%Ln wartend</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln request(s) still in progress.</source>
        <translation>
            <numerusform>%Ln Anfrage läuft noch.</numerusform>
            <numerusform>%Ln Anfragen laufen noch.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln queued request(s) are saved and run first next time.</source>
        <translation>
            <numerusform>%Ln wartende Anfrage wird gespeichert und läuft beim nächsten Start zuerst.</numerusform>
            <numerusform>%Ln wartende Anfragen werden gespeichert und laufen beim nächsten Start zuerst.</numerusform>
        </translation>
    </message>
    <message>
        <source>The time for the requests in progress is up: they are cancelled, saved and run again first on the next start.</source>
        <translation>Die Zeit für die laufenden Anfragen ist um: sie werden abgebrochen, gespeichert und laufen beim nächsten Start zuerst erneut.</translation>
    </message>
    <message>
        <source>took too long</source>
        <translation>dauerte zu lange</translation>
    </message>
</context>
<context>
    <name>Quiesce::App::SingleInstance</name>
    <message>
        <source>Quiesce cannot start</source>
        <translation>Quiesce kann nicht starten</translation>
    </message>
</context>
<context>
    <name>Quiesce::App::ThroughputPlot</name>
    <message>
        <source>Throughput (requests done per second, left scale) and queue depth (right scale) over the last minute</source>
        <translation>Durchsatz (erledigte Anfragen pro Sekunde, linke Skala) und Warteschlangenlänge (rechte Skala) der letzten Minute</translation>
    </message>
    <message>
        <source>now</source>
        <translation>jetzt</translation>
    </message>
    <message>
        <source>req/s</source>
        <translation>Anfr./s</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>wartend</translation>
    </message>
    <message>
        <source>%1 s ago</source>
        <translation>vor %1 s</translation>
    </message>
    <message>
        <source>requests done per second</source>
        <translation>erledigte Anfragen pro Sekunde</translation>
    </message>
    <message>
        <source>queue (limit %1)</source>
        <translation>Warteschlange (Grenze %1)</translation>
    </message>
    <message>
        <source>queue</source>
        <translation>Warteschlange</translation>
    </message>
</context>
<context>
    <name>Quiesce::App::WorkerTableModel</name>
    <message>
        <source>hung</source>
        <translation>hängt</translation>
    </message>
    <message>
        <source>busy</source>
        <translation>beschäftigt</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>frei</translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>Blocked in a simulated hang: deaf to cancellation. Should it stay stuck through a shutdown, the watchdog ends the process at the hard deadline.</source>
        <translation>Blockiert in einem simulierten Hänger, taub für Abbruch. Bleibt er beim Beenden hängen, beendet der Wachhund den Prozess an der harten Frist.</translation>
    </message>
    <message>
        <source>Worker</source>
        <translation>Worker</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Zustand</translation>
    </message>
    <message>
        <source>Request</source>
        <translation>Anfrage</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Fortschritt</translation>
    </message>
    <message>
        <source>Elapsed</source>
        <translation>Verstrichen</translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message>
        <source>starting</source>
        <translation>startet</translation>
    </message>
    <message>
        <source>restarting</source>
        <translation>startet neu</translation>
    </message>
    <message>
        <source>disabled</source>
        <translation>abgeschaltet</translation>
    </message>
    <message>
        <source>stopping</source>
        <translation>hält an</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>angehalten</translation>
    </message>
    <message>
        <source>Blocked in a simulated hang: deaf to cancellation. Should it stay stuck through a shutdown, its worker process is killed at the deadline and the request requeued.</source>
        <translation>In einem simulierten Hänger blockiert: taub für Abbruch. Bleibt er beim Beenden hängen, wird sein Arbeitsprozess bei Fristablauf beendet und die Anfrage wieder eingereiht.</translation>
    </message>
    <message>
        <source>This worker process crashed too often in a short time and is not restarted any more: the others carry on (degraded).</source>
        <translation>Dieser Arbeitsprozess ist in kurzer Zeit zu oft abgestürzt und wird nicht mehr neu gestartet: die anderen arbeiten weiter (eingeschränkt).</translation>
    </message>
    <message>
        <source>PID</source>
        <translation>PID</translation>
    </message>
    <message>
        <source>Restarts</source>
        <translation>Neustarts</translation>
    </message>
</context>
</TS>
