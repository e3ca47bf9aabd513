// Every @p2pd package can be used alone; the meta-package `p2pd` re-exports them all.
import * as p2pd from "p2pd";

export default async function main(): Promise<void> {
  console.log(Object.keys(p2pd).sort().join(", "));
}
