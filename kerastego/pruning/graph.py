"""Channel analysis of a Keras functional model for structured pruning.

Every conv output starts a *channel space*. Per-channel layers (BN, activations,
pooling, Q&T...) carry spaces through; an Add merges the spaces of its inputs into
one *group* that must share a width and a channel set; a Concatenate lays spaces
side by side (offsets); convs and dense layers consume them. What each layer type
does is its handler's business (kerastego.pruning.handlers); this module walks the
graph. A group is prunable when every conv producing into it is a plain Conv2D and
every layer touching it is understood; anything else is reported, never silently skipped.
"""
import dataclasses

from kerastego.pruning.handlers import Conv, handler_for

@dataclasses.dataclass
class Group:
    """Convs whose outputs must keep the same channels (tied by Add), and who reads them.

    decider: the conv whose filters are ranked for l1: the lowest non-1x1 conv (the
    main branch; a 1x1 conv in a group is a transformed shortcut), else the lowest conv.
    """
    gid: int
    producers: list              # Conv2D layer names, topological order
    decider: str
    width: int
    consumers: list = dataclasses.field(default_factory=list)   # weighted layers reading the channels
    prunable: bool = True
    reasons: list = dataclasses.field(default_factory=list)
    consumer_is_conv: bool = False   # the first consumer is a Conv2D (ThiNet needs one)

    @property
    def name(self):
        return self.decider if len(self.producers) == 1 else f"{self.decider}+{len(self.producers) - 1}"

    @property
    def criterion(self):
        """ThiNet for convs not tied by shortcuts and feeding a conv; l1-norm otherwise."""
        return "thinet" if len(self.producers) == 1 and self.thinet_consumer else "l1"

    @property
    def thinet_consumer(self):
        return self.consumers[0] if self.consumers and self.consumer_is_conv else None


class ChannelGraph:
    """The analysis result: groups, and per tensor (layer output) its channel segments."""

    def __init__(self, model):
        self.model = model
        self.layers = {l.name: l for l in model.layers}
        self.order = [l.name for l in model.layers]
        self.parents = {}
        self.unsupported = []
        for layer in model.layers:
            nodes = layer._inbound_nodes
            if len(nodes) > 1:
                self.unsupported.append((layer.name, "layer is called more than once (shared layer)"))
            self.parents[layer.name] = [p.operation.name for p in nodes[0].parent_nodes] if nodes else []
        self.children = {n: [] for n in self.order}
        for n, ps in self.parents.items():
            for p in ps:
                self.children[p].append(n)
        self._parent = {}
        self.segments = {}      # layer name -> list of [space id, n channels]
        self.space_owner = {}   # space id -> conv name
        self._analyse()

    # union-find over channel spaces
    def _find(self, s):
        while self._parent.get(s, s) != s:
            s = self._parent[s]
        return s

    def _union(self, a, b):
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def new_space(self, channels, owner=None, fixed=False):
        """A new channel space (owner: the conv producing it; fixed: never pruned)."""
        space = self._next_space
        self._next_space += 1
        if owner is not None:
            self.space_owner[space] = owner
        if fixed:
            self._fixed.append(space)
        return space

    def union(self, a, b):
        self._union(a, b)

    def not_understood(self, layer, ins):
        """A layer without a handler: its inputs' channels stay unpruned, and it is reported."""
        for seg in ins:
            self._fixed.extend(s[0] for s in seg)
        self.unsupported.append((layer.name, f"{layer.__class__.__name__} is not understood; "
                                             "channels feeding it are left unpruned"))
        channels = layer.output.shape[-1]
        return [[self.new_space(channels, fixed=True), channels]]

    def _analyse(self):
        self._next_space, self._fixed = 0, []
        for name in self.order:
            layer = self.layers[name]
            ins = [self.segments[p] for p in self.parents[name]]
            if not self.parents[name]:                    # model inputs
                channels = layer.output.shape[-1]
                self.segments[name] = [[self.new_space(channels, fixed=True), channels]]
                continue
            handler = handler_for(layer)
            self.segments[name] = (handler.segments(self, layer, ins) if handler
                                   else self.not_understood(layer, ins))
        for out in self.model.outputs:   # channels that reach an output keep their width
            self._fixed.extend(s[0] for s in self.segments[out._keras_history[0].name])
        self._fixed_roots = {self._find(s) for s in self._fixed}

    def groups(self):
        """Groups of tied conv outputs, ordered bottom-up by their lowest conv."""
        by_root = {}
        for s, conv in self.space_owner.items():
            by_root.setdefault(self._find(s), []).append(conv)
        out = []
        for root, convs in by_root.items():
            convs = sorted(convs, key=self.order.index)
            main = [c for c in convs if tuple(self.layers[c].kernel_size) != (1, 1)]
            g = Group(gid=root, producers=convs, decider=(main or convs)[0], width=self.layers[convs[0]].filters)
            if root in self._fixed_roots:
                g.prunable = False
                g.reasons.append("tied to an input, an output or a layer that is not understood")
            g.consumers = [n for n in self.order if self._reads(n, root)]
            g.consumer_is_conv = bool(g.consumers) and isinstance(handler_for(self.layers[g.consumers[0]]), Conv)
            out.append(g)
        return sorted(out, key=lambda g: self.order.index(g.decider))

    def _reads(self, name, root):
        handler = handler_for(self.layers[name])
        if not (handler and handler.consumer):
            return False
        return any(self._find(s[0]) == root for p in self.parents[name] for s in self.segments[p])

    def root_of(self, conv):
        """The group gid of a conv's output channels."""
        return self._find(self.segments[conv][0][0])

    def kept_channels(self, name, keep):
        """Kept channel indices of layer `name`'s output, given keep: {group gid: kept indices}."""
        idx, offset = [], 0
        for s, n in self.segments[name]:
            k = keep.get(self._find(s))
            idx.extend(offset + i for i in (range(n) if k is None else k))
            offset += n
        return idx

    def input_channels(self, name, keep):
        """Kept input-channel (or dense row) indices of the single-input layer `name`."""
        (parent,) = self.parents[name]
        return self.kept_channels(parent, keep)

    def channels_of_group(self, name, gid):
        """Positions, in layer `name`'s input, of the channels belonging to group gid."""
        (parent,) = self.parents[name]
        pos, offset = [], 0
        for s, n in self.segments[parent]:
            if self._find(s) == gid:
                pos.extend(range(offset, offset + n))
            offset += n
        return pos
