"""PistonStructureResolver, written line by line as PHYSICS.md §2.7 reads.

`resolve(get, pushable, piston_pos, facing, extending)` returns (to_push,
to_destroy) lists of positions in the game's order, or None when the move is
impossible. `get(pos)` returns the block state at a cell, `pushable(state,
pos, move_dir, allow_destroy, piston_facing)` is isPushable at a cell.
"""

from __future__ import annotations

from physics_twin_rules import (
    ALL_DIRECTIONS, AXIS, OPPOSITE, PUSH_LIMIT, can_stick, is_air, is_sticky,
    push_reaction, step,
)


class Resolver:
    def __init__(self, get, pushable, piston_pos, facing: str, extending: bool):
        self.get = get
        self.pushable = pushable
        self.piston_pos = piston_pos
        self.piston_direction = facing
        self.extending = extending
        if extending:
            self.push_direction = facing
            self.start = step(piston_pos, facing)
        else:
            self.push_direction = OPPOSITE[facing]
            self.start = step(piston_pos, facing, 2)
        self.to_push: list = []
        self.to_destroy: list = []

    def resolve(self) -> bool:
        state = self.get(self.start)
        if not self.pushable(state, self.start, self.push_direction, False, self.piston_direction):
            if self.extending and push_reaction(state) == "destroy":
                self.to_destroy.append(self.start)
                return True
            return False
        if not self.add_block_line(self.start, self.push_direction):
            return False
        i = 0
        while i < len(self.to_push):  # the list grows while it is scanned
            pos = self.to_push[i]
            if is_sticky(self.get(pos)) and not self.add_branches(pos):
                return False
            i += 1
        return True

    def add_block_line(self, origin, line_direction: str) -> bool:
        back = OPPOSITE[self.push_direction]
        state = self.get(origin)
        if is_air(state):
            return True
        if not self.pushable(state, origin, self.push_direction, False, line_direction):
            return True
        if origin == self.piston_pos or origin in self.to_push:
            return True
        count = 1
        if count + len(self.to_push) > PUSH_LIMIT:
            return False
        # backward run: blocks stuck behind a sticky block come along
        while is_sticky(state):
            behind = step(origin, back, count)
            previous, state = state, self.get(behind)
            if (is_air(state) or not can_stick(previous, state)
                    or not self.pushable(state, behind, self.push_direction, False, back)
                    or behind == self.piston_pos):
                break
            count += 1
            if count + len(self.to_push) > PUSH_LIMIT:
                return False
        added = 0
        for k in range(count - 1, -1, -1):  # farthest behind first
            self.to_push.append(step(origin, back, k))
            added += 1
        # forward scan along the push direction
        k = 1
        while True:
            ahead = step(origin, self.push_direction, k)
            if ahead in self.to_push:
                collision = self.to_push.index(ahead)
                self.reorder_at_collision(added, collision)
                for m in range(collision + added + 1):
                    pos = self.to_push[m]
                    if is_sticky(self.get(pos)) and not self.add_branches(pos):
                        return False
                return True
            state = self.get(ahead)
            if is_air(state):
                return True
            if (not self.pushable(state, ahead, self.push_direction, True, self.push_direction)
                    or ahead == self.piston_pos):
                return False
            if push_reaction(state) == "destroy":
                self.to_destroy.append(ahead)
                return True
            if len(self.to_push) >= PUSH_LIMIT:
                return False
            self.to_push.append(ahead)
            added += 1
            k += 1

    def reorder_at_collision(self, added: int, collision: int) -> None:
        """Move the line just added (the last `added` entries) before the part it runs into."""
        n = len(self.to_push)
        head = self.to_push[:collision]
        new_line = self.to_push[n - added:]
        rest = self.to_push[collision:n - added]
        self.to_push = head + new_line + rest

    def add_branches(self, pos) -> bool:
        state = self.get(pos)
        for direction in ALL_DIRECTIONS:  # D, U, N, S, W, E minus the push axis
            if AXIS[direction] == AXIS[self.push_direction]:
                continue
            neighbour = step(pos, direction)
            if can_stick(self.get(neighbour), state) and not self.add_block_line(neighbour, direction):
                return False
        return True


def resolve(get, pushable, piston_pos, facing: str, extending: bool):
    r = Resolver(get, pushable, piston_pos, facing, extending)
    if not r.resolve():
        return None
    return r.to_push, r.to_destroy
