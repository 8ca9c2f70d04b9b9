/** Nextcloud News (docs/nextcloud-protocol.md "News"): the News API v1-3 client, the `nc_news_*` tools, and News in the simulator. */
import * as App from "../App.js"
import { NewsLive } from "./Client.js"
import { newsTools } from "./tools.js"

export const news = App.make({
  id: "news",
  tools: newsTools,
  client: NewsLive,
  simulator: () => import("./simulator.js").then((part) => part.newsSimulator),
  presence: { navigation: "news" }
})
