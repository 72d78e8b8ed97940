// quiesce_xclose: closes a top-level X11 window the way a window manager does when the user clicks its close
// button or presses Alt+F4: a WM_DELETE_WINDOW client message (ICCCM 4.2.8.1). Used by tst_gui_e2e under Xvfb,
// where no window manager runs. Plain libxcb (present wherever Qt's xcb build dependencies are).
//
//   quiesce_xclose PID TITLE [COUNT]
//
// Waits (event driven, at most 20 s) until PID maps a top-level window titled TITLE that takes WM_DELETE_WINDOW,
// sends it COUNT (default 1) such messages, prints the window id and exits 0. Exit 1: no such window in time;
// exit 2: no display or bad arguments.
#include <xcb/xcb.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <poll.h>

namespace {

struct FreeDeleter
{
    void operator()(void *p) const { std::free(p); }
};
template<typename T>
using Reply = std::unique_ptr<T, FreeDeleter>;

xcb_atom_t intern(xcb_connection_t *c, const char *name)
{
    Reply<xcb_intern_atom_reply_t> reply(
        xcb_intern_atom_reply(c, xcb_intern_atom(c, 0, uint16_t(std::strlen(name)), name), nullptr));
    return reply ? reply->atom : xcb_atom_t(XCB_ATOM_NONE);
}

struct Atoms
{
    xcb_atom_t protocols = XCB_ATOM_NONE;
    xcb_atom_t deleteWindow = XCB_ATOM_NONE;
    xcb_atom_t pid = XCB_ATOM_NONE;
    xcb_atom_t netName = XCB_ATOM_NONE;
    xcb_atom_t utf8 = XCB_ATOM_NONE;
};

Reply<xcb_get_property_reply_t> property(xcb_connection_t *c, xcb_window_t w, xcb_atom_t name, xcb_atom_t type)
{
    return Reply<xcb_get_property_reply_t>(
        xcb_get_property_reply(c, xcb_get_property(c, 0, w, name, type, 0, 1024), nullptr));
}

bool matches(xcb_connection_t *c, const Atoms &atoms, xcb_window_t w, uint32_t pid, const std::string &title)
{
    Reply<xcb_get_window_attributes_reply_t> attributes(
        xcb_get_window_attributes_reply(c, xcb_get_window_attributes(c, w), nullptr));
    if (!attributes || attributes->map_state != XCB_MAP_STATE_VIEWABLE)
        return false;

    auto pidReply = property(c, w, atoms.pid, XCB_ATOM_CARDINAL);
    if (!pidReply || xcb_get_property_value_length(pidReply.get()) != 4
        || *static_cast<const uint32_t *>(xcb_get_property_value(pidReply.get())) != pid)
        return false;

    auto nameReply = property(c, w, atoms.netName, atoms.utf8);
    if (!nameReply || xcb_get_property_value_length(nameReply.get()) == 0)
        nameReply = property(c, w, XCB_ATOM_WM_NAME, XCB_ATOM_STRING);
    if (!nameReply)
        return false;
    const std::string name(static_cast<const char *>(xcb_get_property_value(nameReply.get())),
                           size_t(xcb_get_property_value_length(nameReply.get())));
    if (name != title)
        return false;

    auto protocols = property(c, w, atoms.protocols, XCB_ATOM_ATOM);
    if (!protocols)
        return false;
    const auto *list = static_cast<const xcb_atom_t *>(xcb_get_property_value(protocols.get()));
    const int n = xcb_get_property_value_length(protocols.get()) / int(sizeof(xcb_atom_t));
    for (int i = 0; i < n; ++i) {
        if (list[i] == atoms.deleteWindow)
            return true;
    }
    return false;
}

xcb_window_t findExisting(xcb_connection_t *c, const Atoms &atoms, xcb_window_t root, uint32_t pid,
                          const std::string &title)
{
    Reply<xcb_query_tree_reply_t> tree(xcb_query_tree_reply(c, xcb_query_tree(c, root), nullptr));
    if (!tree)
        return XCB_WINDOW_NONE;
    const xcb_window_t *children = xcb_query_tree_children(tree.get());
    for (int i = 0; i < xcb_query_tree_children_length(tree.get()); ++i) {
        if (matches(c, atoms, children[i], pid, title))
            return children[i];
    }
    return XCB_WINDOW_NONE;
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        std::fprintf(stderr, "usage: %s PID TITLE [COUNT]\n", argv[0]);
        return 2;
    }
    const auto pid = uint32_t(std::strtoul(argv[1], nullptr, 10));
    const std::string title = argv[2];
    const int count = argc == 4 ? std::atoi(argv[3]) : 1;

    int screenNumber = 0;
    xcb_connection_t *c = xcb_connect(nullptr, &screenNumber);
    if (xcb_connection_has_error(c)) {
        std::fprintf(stderr, "quiesce_xclose: cannot open the display\n");
        return 2;
    }
    xcb_screen_iterator_t it = xcb_setup_roots_iterator(xcb_get_setup(c));
    for (int i = 0; i < screenNumber && it.rem > 0; ++i)
        xcb_screen_next(&it);
    const xcb_window_t root = it.data->root;

    Atoms atoms;
    atoms.protocols = intern(c, "WM_PROTOCOLS");
    atoms.deleteWindow = intern(c, "WM_DELETE_WINDOW");
    atoms.pid = intern(c, "_NET_WM_PID");
    atoms.netName = intern(c, "_NET_WM_NAME");
    atoms.utf8 = intern(c, "UTF8_STRING");

    // Listen for maps first, then look at what is there: a window mapped in between is not missed.
    const uint32_t mask = XCB_EVENT_MASK_SUBSTRUCTURE_NOTIFY | XCB_EVENT_MASK_PROPERTY_CHANGE;
    xcb_change_window_attributes(c, root, XCB_CW_EVENT_MASK, &mask);
    xcb_flush(c);

    xcb_window_t target = findExisting(c, atoms, root, pid, title);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (target == XCB_WINDOW_NONE) {
        Reply<xcb_generic_event_t> event(xcb_poll_for_event(c));
        if (!event) {
            if (xcb_connection_has_error(c))
                return 2;
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                std::fprintf(stderr, "quiesce_xclose: no window '%s' of pid %u\n", title.c_str(), pid);
                return 1;
            }
            pollfd p {xcb_get_file_descriptor(c), POLLIN, 0};
            ::poll(&p, 1, int(left.count()));
            continue;
        }
        const uint8_t type = event->response_type & 0x7f;
        xcb_window_t candidate = XCB_WINDOW_NONE;
        if (type == XCB_MAP_NOTIFY)
            candidate = reinterpret_cast<xcb_map_notify_event_t *>(event.get())->window;
        else if (type == XCB_PROPERTY_NOTIFY)
            candidate = reinterpret_cast<xcb_property_notify_event_t *>(event.get())->window;
        // Property changes of the children arrive only if selected on them; a rescan covers a title set late.
        if (candidate != XCB_WINDOW_NONE && matches(c, atoms, candidate, pid, title))
            target = candidate;
        else if (type == XCB_MAP_NOTIFY)
            target = findExisting(c, atoms, root, pid, title);
    }

    for (int i = 0; i < count; ++i) {
        xcb_client_message_event_t message;
        std::memset(&message, 0, sizeof message);
        message.response_type = XCB_CLIENT_MESSAGE;
        message.format = 32;
        message.window = target;
        message.type = atoms.protocols;
        message.data.data32[0] = atoms.deleteWindow;
        message.data.data32[1] = XCB_CURRENT_TIME;
        xcb_send_event(c, 0, target, XCB_EVENT_MASK_NO_EVENT, reinterpret_cast<const char *>(&message));
    }
    // Then one ordinary event behind them (a PropertyNotify for a property of our own). Without a window manager
    // nothing else talks to the client, and Qt's xcb backend may have set WM_DELETE_WINDOW aside as user input
    // while it flushed its startup events without input; it takes such events up again with the next event that
    // arrives. On a desktop that next event comes at once (focus, configure, pointer); here we send it.
    const xcb_atom_t wake = intern(c, "_QUIESCE_XCLOSE_WAKE");
    const uint32_t one = 1;
    xcb_change_property(c, XCB_PROP_MODE_REPLACE, target, wake, XCB_ATOM_CARDINAL, 32, 1, &one);
    xcb_flush(c);
    std::printf("0x%x\n", unsigned(target));
    xcb_disconnect(c);
    return 0;
}
