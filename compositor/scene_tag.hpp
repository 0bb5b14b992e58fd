#pragma once

#include "wlr.hpp"

namespace tessera::compositor {

// Stored in wlr_scene_node::data of the trees the compositor makes, so that a node found under
// the pointer leads back to the window or zone it belongs to.
struct SceneTag {
    enum class Kind { toplevel, xwayland, zone, guest_scanout };
    Kind kind;
    void* owner;

    // The nearest tag of that kind at or above the node; its owner, or null.
    template <typename T> static T* find(wlr_scene_node* node, Kind kind) {
        for (; node; node = node->parent ? &node->parent->node : nullptr) {
            auto* tag = static_cast<SceneTag*>(node->data);
            if (node->type == WLR_SCENE_NODE_TREE && tag && tag->kind == kind) {
                return static_cast<T*>(tag->owner);
            }
        }
        return nullptr;
    }
};

} // namespace tessera::compositor
