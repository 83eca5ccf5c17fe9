/**
 * Who follows 福建税务 in the sandbox. On WeChat this is WeChat's own state, which the account only
 * learns of through subscribe / unsubscribe pushes; the phone needs it to choose between `SCAN` and
 * `subscribe` with `qrscene_`. Kept in this process's memory: a restart makes every user a
 * non-follower again, as a fresh WeChat install would see it.
 */
export class SimulatedFollowers {
  private readonly following = new Set<string>();

  isFollowing(openid: string): boolean {
    return this.following.has(openid);
  }

  follow(openid: string): void {
    this.following.add(openid);
  }

  unfollow(openid: string): void {
    this.following.delete(openid);
  }
}
