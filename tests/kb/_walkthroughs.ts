/**
 * The commands that take a player of each shipped experience from its
 * start to its ending (the engine tests, the HTTP walkthroughs and the
 * README's spoiler-free hints agree with these).
 *
 * @module
 */

/** The lighthouse from the beach to its ending. */
export const LIGHTHOUSE_WALKTHROUGH = [
  "e",
  "take spectacles",
  "w. n",
  "take sardines",
  "n",
  "give spectacles to tam",
  "take oil can",
  "s. s. w",
  "unlock door with key",
  "open door",
  "u. u",
  "give sardines to gull",
  "pour oil into lamp",
  "light lamp",
];

/** The woods from their edge to their ending. */
export const WOODS_WALKTHROUGH = [
  "n. w",
  "take moonpetal",
  "e. e",
  "give moonpetal to woander",
  "n",
  "take silver bottle",
  "s. w. n",
  "take acorn",
  "give acorn to bramble",
  "u",
  "open silver bottle",
];
