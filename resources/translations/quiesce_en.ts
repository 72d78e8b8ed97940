<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>Quiesce::App::MainWindow</name>
    <message numerus="yes">
        <source>Intake is paused: the burst of %Ln request(s) is submitted when you resume</source>
        <translation>
            <numerusform>Intake is paused: the burst of %Ln request is submitted when you resume</numerusform>
            <numerusform>Intake is paused: the burst of %Ln requests is submitted when you resume</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Nothing accepted was lost: %Ln request(s) from last time run first now.</source>
        <translation>
            <numerusform>Nothing accepted was lost: %Ln request from last time runs first now.</numerusform>
            <numerusform>Nothing accepted was lost: %Ln requests from last time run first now.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln of them had been interrupted while in progress and run again.</source>
        <translation>
            <numerusform>%Ln of them had been interrupted while in progress and runs again.</numerusform>
            <numerusform>%Ln of them had been interrupted while in progress and run again.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln request(s) saved when Quiesce last stopped run first now.</source>
        <translation>
            <numerusform>%Ln request saved when Quiesce last stopped runs first now.</numerusform>
            <numerusform>%Ln requests saved when Quiesce last stopped run first now.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Quiesce::App::ShutdownDialog</name>
    <message numerus="yes">
        <source>%Ln request(s) in progress</source>
        <translation>
            <numerusform>%Ln request in progress</numerusform>
            <numerusform>%Ln requests in progress</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln queued</source>
        <translation>
            <numerusform>%Ln queued</numerusform>
            <numerusform>%Ln queued</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln request(s) still in progress.</source>
        <translation>
            <numerusform>%Ln request still in progress.</numerusform>
            <numerusform>%Ln requests still in progress.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln queued request(s) are saved and run first next time.</source>
        <translation>
            <numerusform>%Ln queued request is saved and runs first next time.</numerusform>
            <numerusform>%Ln queued requests are saved and run first next time.</numerusform>
        </translation>
    </message>
</context>
</TS>
